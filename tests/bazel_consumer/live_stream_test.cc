// Streams from a live pcusage server through @pcusage//client_stubs/cpp:usage_records_client, built in a workspace
// that depends on pcusage as an external repository, and compares the first page with the emulator's own JSON.
// The stack comes from tools/with_stack: PCUSAGE_SERVER, PCUSAGE_EMULATOR, PCUSAGE_EMULATOR_TOKEN.
#include <curl/curl.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::pcusage::client::ListOptions;
using ::pcusage::client::ListSummary;
using ::pcusage::client::UsageRecordsClient;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// One item of the emulator's JSON: its id and totalCost as written (empty when absent or null).
struct RawRecord {
  std::string id;
  std::string total_cost;
};

// Collects items[*].id and items[*].totalCost of a usage page, keeping each number as the text the emulator sent.
class PageItems : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<RawRecord> items;

  bool start_object(std::size_t) override {
    ++depth_;
    if (in_items_ && depth_ == 2) items.emplace_back();
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 1 && key_ == "items") in_items_ = true;
    return true;
  }
  bool end_array() override {
    if (depth_ == 1) in_items_ = false;
    return true;
  }
  bool key(string_t& key) override {
    key_ = key;
    return true;
  }
  bool string(string_t& value) override {
    if (InItem() && key_ == "id") items.back().id = value;
    return true;
  }
  // JSON integers have one spelling, so their text is the value's; only floats keep the emulator's digits.
  bool number_integer(number_integer_t value) override { return Number(std::to_string(value)); }
  bool number_unsigned(number_unsigned_t value) override { return Number(std::to_string(value)); }
  bool number_float(number_float_t, const string_t& text) override { return Number(text); }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool InItem() const { return in_items_ && depth_ == 2 && !items.empty(); }
  bool Number(const std::string& text) {
    if (InItem() && key_ == "totalCost") items.back().total_cost = text;
    return true;
  }
  int depth_ = 0;
  bool in_items_ = false;
  std::string key_;
};

size_t AppendBody(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

// The first usage page straight from the emulator, or an empty body after a failure.
std::string FetchFirstPage() {
  std::string body;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return body;
  const std::string url = absl::StrCat("http://", Env("PCUSAGE_EMULATOR"), "/v1/customers/usagerecords");
  curl_slist* headers =
      curl_slist_append(nullptr, absl::StrCat("Authorization: Bearer ", Env("PCUSAGE_EMULATOR_TOKEN")).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    ADD_FAILURE() << url << ": " << curl_easy_strerror(code);
    body.clear();
  }
  return body;
}

// pcusage's google.type.Decimal text for a JSON number: every digit kept, the exponent as "E+n"/"E-n", an all-zero
// exponent dropped (docs/api.md).
std::string NormalizedDecimal(const std::string& number) {
  const std::string upper = absl::StrReplaceAll(number, {{"e", "E"}});
  const size_t e = upper.find('E');
  if (e == std::string::npos) return upper;
  std::string exponent = upper.substr(e + 1), sign = "+";
  if (!exponent.empty() && (exponent[0] == '+' || exponent[0] == '-')) {
    sign = exponent.substr(0, 1);
    exponent = exponent.substr(1);
  }
  if (exponent.find_first_not_of('0') == std::string::npos) return upper.substr(0, e);
  return absl::StrCat(upper.substr(0, e), "E", sign, exponent);
}

class LiveStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"PCUSAGE_SERVER", "PCUSAGE_EMULATOR", "PCUSAGE_EMULATOR_TOKEN"}) {
      ASSERT_FALSE(Env(name).empty()) << name << " is not set: run under tools/with_stack (run_tests does)";
    }
    client_ = std::make_unique<UsageRecordsClient>(
        grpc::CreateChannel(Env("PCUSAGE_SERVER"), grpc::InsecureChannelCredentials()));
  }

  ListSummary List(ListOptions options, std::vector<v1::CustomerMonthlyUsageRecord>* records) {
    options.timeout = absl::Seconds(60);
    return client_->ListUsageRecords(options, [records](const v1::CustomerMonthlyUsageRecord& record) {
      records->push_back(record);
      return true;
    });
  }

  std::unique_ptr<UsageRecordsClient> client_;
};

TEST_F(LiveStreamTest, StreamsEveryRecordOnceInMessagesOfAtMostPageSize) {
  ListOptions options;
  options.page_size = 7;
  options.timeout = absl::Seconds(60);
  options.access_token = Env("PCUSAGE_EMULATOR_TOKEN");
  std::vector<v1::CustomerMonthlyUsageRecord> records;
  std::vector<size_t> message_sizes;
  size_t before = 0;
  const ListSummary summary = client_->ListUsageRecords(
      options,
      [&records](const v1::CustomerMonthlyUsageRecord& record) {
        records.push_back(record);
        return true;
      },
      [&] {
        message_sizes.push_back(records.size() - before);
        before = records.size();
      });
  ASSERT_TRUE(summary.status.ok()) << summary.status.error_code() << ": " << summary.status.error_message();
  EXPECT_TRUE(summary.partner_center_total_count.has_value());
  EXPECT_GT(records.size(), 7u);
  EXPECT_EQ(summary.records, static_cast<int64_t>(records.size()));
  EXPECT_EQ(summary.messages, static_cast<int64_t>(message_sizes.size()));
  for (size_t size : message_sizes) EXPECT_LE(size, 7u);
  EXPECT_FALSE(summary.correlation_id.empty());
  EXPECT_FALSE(summary.resume_token.empty());
  std::set<std::string> ids;
  for (const auto& record : records) EXPECT_TRUE(ids.insert(record.id()).second) << "twice: " << record.id();

  // The server's default batches carry the same records in the same order.
  ListOptions defaults;
  defaults.access_token = options.access_token;
  std::vector<v1::CustomerMonthlyUsageRecord> again;
  ASSERT_TRUE(List(defaults, &again).status.ok());
  ASSERT_EQ(again.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(again[i].id(), records[i].id()) << i;
}

TEST_F(LiveStreamTest, FirstPageMatchesTheEmulatorDigitForDigit) {
  PageItems page;
  const std::string body = FetchFirstPage();
  ASSERT_TRUE(nlohmann::json::sax_parse(body, &page)) << body.substr(0, 500);
  ASSERT_FALSE(page.items.empty()) << body.substr(0, 500);

  ListOptions options;
  options.access_token = Env("PCUSAGE_EMULATOR_TOKEN");
  std::vector<v1::CustomerMonthlyUsageRecord> records;
  const ListSummary summary = List(options, &records);
  ASSERT_TRUE(summary.status.ok()) << summary.status.error_message();
  ASSERT_GE(records.size(), page.items.size());
  int with_cost = 0;
  for (size_t i = 0; i < page.items.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("record ", i, " (", page.items[i].id, ")"));
    EXPECT_EQ(records[i].id(), page.items[i].id);
    if (page.items[i].total_cost.empty()) {
      EXPECT_FALSE(records[i].has_total_cost());
    } else {
      ++with_cost;
      EXPECT_EQ(records[i].total_cost().value(), NormalizedDecimal(page.items[i].total_cost));
    }
  }
  EXPECT_GT(with_cost, 0) << "the first page has no totalCost to compare";
}

TEST_F(LiveStreamTest, ACallWithoutATokenCarriesErrorInfo) {
  std::vector<v1::CustomerMonthlyUsageRecord> records;
  const ListSummary summary = List(ListOptions{}, &records);
  EXPECT_EQ(summary.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(summary.error_info.has_value());
  EXPECT_EQ(summary.error_info->reason(), "ACCESS_TOKEN_MISSING");
  EXPECT_TRUE(records.empty());
}

}  // namespace
