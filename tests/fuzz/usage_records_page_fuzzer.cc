// Fuzzes the page translator, ParseUsageRecordsPage (server/partner_center/usage_records_parser.h), with arbitrary
// bytes as a page of Partner Center's usage-records collection.
//
// Beyond "no crash, no sanitizer report", for a page it accepts it checks that:
// - the page is JSON to an independent parser too (nlohmann's, strict), when built with -DPCUSAGE_FUZZ_STRICT_JSON
//   (see below);
// - it holds at most MaxPageRecords(size) records, each at most kMaxRecordBytes serialized;
// - Entries(0, n) is n `usage_records` entries of a ListUsageRecordsResponse that protobuf parses (proto3 strings
//   are valid UTF-8) into the same records, and ResourceId(i) is record i's resource_id;
// - every Decimal value is in google.type.Decimal's normal form and is exactly the text of a number or string the
//   page sent, normalized (NormalizeDecimal): no digit is lost, added or rounded;
// - every Timestamp is within Timestamp's range.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "partnercenter/usage/v1/usage_records.pb.h"
#include "server/partner_center/json_scalars.h"
#include "server/partner_center/usage_records_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using partnercenter::usage::v1::CustomerMonthlyUsageRecord;
using partnercenter::usage::v1::ListUsageRecordsResponse;
using pcusage::partner_center::kMaxRecordBytes;
using pcusage::partner_center::MaxPageRecords;
using pcusage::partner_center::NormalizeDecimal;
using pcusage::partner_center::ParseUsageRecordsPage;
using pcusage::partner_center::UsageRecordsPage;

// Every number's text and every string of a JSON document, normalized as a decimal where that succeeds; nlohmann's
// SAX interface gives the source text of non-integer numbers, integers are printed back.
class DecimalTexts : public nlohmann::json_sax<nlohmann::json> {
 public:
  absl::flat_hash_set<std::string> texts;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t value) override {
    Add(std::to_string(value));
    if (value == 0) Add("-0");
    return true;
  }
  bool number_unsigned(number_unsigned_t value) override {
    Add(std::to_string(value));
    if (value == 0) Add("-0");
    return true;
  }
  bool number_float(number_float_t, const string_t& text) override {
    Add(text);
    return true;
  }
  bool string(string_t& value) override {
    Add(value);
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  void Add(absl::string_view text) {
    absl::StatusOr<std::string> normalized = NormalizeDecimal(text);
    if (normalized.ok()) texts.insert(*std::move(normalized));
  }
};

void CheckDecimal(const google::type::Decimal& decimal, const DecimalTexts* sent, const char* field) {
  const std::string& value = decimal.value();
  absl::StatusOr<std::string> normalized = NormalizeDecimal(value);
  FUZZ_CHECK(normalized.ok() && *normalized == value, "%s \"%s\" is not a normalized decimal", field, value.c_str());
  if (sent == nullptr) return;
  FUZZ_CHECK(sent->texts.contains(value), "%s \"%s\" is not the text of any number or string the page sent", field,
             value.c_str());
}

void CheckRecord(const CustomerMonthlyUsageRecord& record, const DecimalTexts* sent) {
  FUZZ_CHECK(record.ByteSizeLong() <= kMaxRecordBytes, "a record of %zu bytes", record.ByteSizeLong());
  if (record.has_percent_used()) CheckDecimal(record.percent_used(), sent, "percent_used");
  if (record.has_total_cost()) CheckDecimal(record.total_cost(), sent, "total_cost");
  if (record.has_usd_total_cost()) CheckDecimal(record.usd_total_cost(), sent, "usd_total_cost");
  if (record.budget().has_amount()) CheckDecimal(record.budget().amount(), sent, "budget.amount");
  if (record.customer_spending_budget().has_amount()) {
    CheckDecimal(record.customer_spending_budget().amount(), sent, "customer_spending_budget.amount");
  }
  if (record.usage_spending_budget().has_amount()) {
    CheckDecimal(record.usage_spending_budget().amount(), sent, "usage_spending_budget.amount");
  }
  if (record.has_last_modified_time()) {
    const google::protobuf::Timestamp& time = record.last_modified_time();
    FUZZ_CHECK(time.seconds() >= -62135596800 && time.seconds() <= 253402300799 && time.nanos() >= 0 &&
                   time.nanos() <= 999999999,
               "last_modified_time %lld.%09d out of range", static_cast<long long>(time.seconds()), time.nanos());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<UsageRecordsPage> page = ParseUsageRecordsPage(json);
  if (!page.ok()) {
    FUZZ_CHECK(page.status().code() == absl::StatusCode::kInvalidArgument, "status %s",
               page.status().ToString().c_str());
    return 0;
  }

  // simdjson On-Demand does not check the grammar inside members it skips unread (`{"items": [], "x": {"a" 1}}` is
  // accepted), so a page nlohmann refuses is not a failure unless PCUSAGE_FUZZ_STRICT_JSON is defined; the
  // decimals of such a page are not checked against the page's text.
  DecimalTexts sent;
  const bool is_json = nlohmann::json::sax_parse(json.begin(), json.end(), &sent);
#ifdef PCUSAGE_FUZZ_STRICT_JSON
  FUZZ_CHECK(is_json, "accepted a page that is not JSON");
#endif

  const std::size_t count = page->records.size();
  FUZZ_CHECK(count <= MaxPageRecords(size), "%zu records in a page of %zu bytes", count, size);
  ListUsageRecordsResponse response;
  const absl::string_view entries = page->records.Entries(0, count);
  FUZZ_CHECK(response.ParseFromArray(entries.data(), static_cast<int>(entries.size())),
             "the records' bytes do not parse as ListUsageRecordsResponse");
  FUZZ_CHECK(response.usage_records_size() == static_cast<int>(count), "%d entries for %zu records",
             response.usage_records_size(), count);
  for (std::size_t i = 0; i < count; ++i) {
    const CustomerMonthlyUsageRecord& record = response.usage_records(static_cast<int>(i));
    FUZZ_CHECK(page->records[i].SerializeAsString() == record.SerializeAsString(), "record %zu decodes differently", i);
    FUZZ_CHECK(page->records.ResourceId(i) == record.resource_id(), "record %zu's resource id", i);
    CheckRecord(record, is_json ? &sent : nullptr);
  }
  return 0;
}
