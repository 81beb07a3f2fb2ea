// End to end on loopback: the Partner Center emulator and pcusage_server run as real processes on free ports, and
// the C++ client checks that every record arrives exactly once with exact values and presence kept.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/dataset.h"
#include "tests/testing/child_process.h"
#include "tests/testing/emulator_and_server.h"
#include "tests/testing/runfiles.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::pcusage::testing::ChildProcess;
using ::pcusage::testing::ReadRunfile;
using ::pcusage::testing::RunfilePath;
using ::pcusage::testing::TempPath;
using ::testing::HasSubstr;

using ::pcusage::testing::EmulatorAndServer;
using ::pcusage::testing::kEmulatorToken;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopGrace = absl::Seconds(15);

std::unique_ptr<EmulatorAndServer> Start(const std::vector<std::string>& emulator_flags,
                                         const std::vector<std::string>& server_flags) {
  absl::StatusOr<std::unique_ptr<EmulatorAndServer>> stack = EmulatorAndServer::Start(emulator_flags, server_flags);
  EXPECT_TRUE(stack.ok()) << stack.status();
  return stack.ok() ? *std::move(stack) : nullptr;
}

client::ListOptions Options(int page_size = 0, std::string token = "") {
  client::ListOptions options;
  options.page_size = page_size;
  options.timeout = absl::Seconds(60);
  options.access_token = std::move(token);
  return options;
}

TEST(UsageRecordsIntegrationTest, SeedSampleArrivesExactly) {
  auto stack = Start({"--dataset=seed"}, EmulatorAndServer::WithTokenFile());
  ASSERT_NE(stack, nullptr);
  EmulatorAndServer::Listing listing = stack->List(Options(/*page_size=*/3));
  ASSERT_TRUE(listing.summary.status.ok()) << listing.summary.status.error_message() << stack->ServerLog();

  v1::ListUsageRecordsResponse expected;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(ReadRunfile("tests/testing/seed_sample_expected.textproto"),
                                                            &expected));
  EXPECT_EQ(listing.summary.partner_center_total_count, expected.partner_center_total_count());
  EXPECT_EQ(listing.summary.messages, 2);  // 3 + 1
  ASSERT_EQ(listing.records.size(), static_cast<std::size_t>(expected.usage_records_size()));
  for (int i = 0; i < expected.usage_records_size(); ++i) {
    std::string differences;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&differences);
    EXPECT_TRUE(differencer.Compare(expected.usage_records(i), listing.records[i])) << i << ": " << differences;
  }
  EXPECT_EQ(listing.records[1].total_cost().value(), "120.5682999999995904716");
}

// The google.type.Decimal normal form of a JSON number's text: pcusage's only change to such text is the exponent
// written 'E' with an explicit sign (1e2 -> 1E+2), as the type recommends.
std::string DecimalNormalForm(std::string json_number) {
  const std::size_t e = json_number.find_first_of("eE");
  if (e == std::string::npos) return json_number;
  json_number[e] = 'E';
  if (e + 1 < json_number.size() && json_number[e + 1] != '+' && json_number[e + 1] != '-') {
    json_number.insert(e + 1, "+");
  }
  return json_number;
}

void ExpectBudget(const emulator::ExpectedBudget& expected, bool has, const v1::SpendingBudget& actual,
                  const std::string& what) {
  EXPECT_EQ(has, expected.present) << what;
  if (!has) return;
  EXPECT_EQ(actual.has_amount(), expected.amount.has_value()) << what;
  if (expected.amount.has_value()) {
    EXPECT_EQ(actual.amount().value(), DecimalNormalForm(*expected.amount)) << what;
  }
}

void ExpectDecimal(const std::optional<std::string>& expected, bool has, const google::type::Decimal& actual,
                   const std::string& what) {
  EXPECT_EQ(has, expected.has_value()) << what;
  if (expected.has_value() && has) {
    EXPECT_EQ(actual.value(), DecimalNormalForm(*expected)) << what;
  }
}

void ExpectRecord(const emulator::GeneratedRecord& e, const v1::CustomerMonthlyUsageRecord& r) {
  const std::string what = absl::StrCat("record ", e.resource_id);
  EXPECT_EQ(r.id(), e.id) << what;
  EXPECT_EQ(r.name(), e.name) << what;
  EXPECT_EQ(r.resource_id(), e.resource_id) << what;
  EXPECT_EQ(r.resource_name(), e.resource_name) << what;
  ExpectBudget(e.budget, r.has_budget(), r.budget(), what + " budget");
  ExpectBudget(e.customer_spending_budget, r.has_customer_spending_budget(), r.customer_spending_budget(),
               what + " customerSpendingBudget");
  ExpectBudget(e.usage_spending_budget, r.has_usage_spending_budget(), r.usage_spending_budget(),
               what + " usageSpendingBudget");
  ExpectDecimal(e.percent_used, r.has_percent_used(), r.percent_used(), what + " percentUsed");
  ExpectDecimal(e.total_cost, r.has_total_cost(), r.total_cost(), what + " totalCost");
  ExpectDecimal(e.usd_total_cost, r.has_usd_total_cost(), r.usd_total_cost(), what + " usdTotalCost");
  EXPECT_EQ(r.currency_locale(), e.currency_locale.value_or("")) << what;
  EXPECT_EQ(r.currency_code(), e.currency_code.value_or("")) << what;
  EXPECT_EQ(r.currency_symbol(), e.currency_symbol.value_or("")) << what;
  EXPECT_EQ(r.has_is_upgraded(), e.is_upgraded.has_value()) << what;
  if (e.is_upgraded.has_value()) {
    EXPECT_EQ(r.is_upgraded(), *e.is_upgraded) << what;
  }
  EXPECT_EQ(r.has_last_modified_time(), e.last_modified_date.has_value()) << what;
  if (e.last_modified_date.has_value()) {
    EXPECT_EQ(r.last_modified_time().seconds(), e.last_modified_unix_seconds) << what;
    EXPECT_EQ(r.last_modified_time().nanos(), e.last_modified_nanos) << what;
  }
  EXPECT_EQ(r.object_type(), e.object_type) << what;
}

TEST(UsageRecordsIntegrationTest, MultiPageGeneratedSetArrivesExactlyOnce) {
  constexpr int kCustomers = 250;
  constexpr int kPartnerCenterPageSize = 40;
  auto stack = Start({"--dataset=generated", absl::StrCat("--customers=", kCustomers),
                      absl::StrCat("--page_size=", kPartnerCenterPageSize)},
                     EmulatorAndServer::WithTokenFile());
  ASSERT_NE(stack, nullptr);
  client::ListOptions options = Options(/*page_size=*/17);
  options.correlation_id = "aaaa0000-bb11-2222-33cc-444444dddddd";
  EmulatorAndServer::Listing listing = stack->List(options);
  ASSERT_TRUE(listing.summary.status.ok()) << listing.summary.status.error_message() << stack->ServerLog();

  const emulator::GeneratedDataset dataset(kCustomers, kPartnerCenterPageSize);
  ASSERT_EQ(listing.records.size(), dataset.records().size());
  std::set<std::string> seen;
  for (std::size_t i = 0; i < listing.records.size(); ++i) {
    ExpectRecord(dataset.records()[i], listing.records[i]);
    EXPECT_TRUE(seen.insert(listing.records[i].resource_id()).second) << "duplicate " << i;
  }
  EXPECT_EQ(listing.summary.partner_center_total_count, kCustomers + 7);  // the emulator's deliberately wrong count
  EXPECT_EQ(listing.summary.correlation_id, options.correlation_id);

  // One upstream request per Partner Center page, each with its own MS-RequestId, all with the caller's
  // correlation id, each after the first carrying the previous page's continuation token.
  nlohmann::json requests = stack->EmulatorRequests();
  ASSERT_TRUE(requests.is_array());
  ASSERT_EQ(static_cast<int>(requests.size()), dataset.page_count());
  std::set<std::string> request_ids;
  for (std::size_t page = 0; page < requests.size(); ++page) {
    const nlohmann::json& headers = requests[page]["headers"];
    EXPECT_EQ(requests[page]["path"], "/v1/customers/usagerecords");
    EXPECT_EQ(headers.value("authorization", ""), absl::StrCat("Bearer ", kEmulatorToken));
    EXPECT_EQ(headers.value("accept", ""), "application/json");
    EXPECT_EQ(headers.value("ms-correlationid", ""), options.correlation_id);
    EXPECT_EQ(headers.value("ms-contract-version", ""), "v1");
    EXPECT_EQ(headers.value("x-locale", ""), "en-US");
    EXPECT_EQ(headers.value("ms-partnercenter-application", ""), "pcusage");
    EXPECT_TRUE(request_ids.insert(headers.value("ms-requestid", "")).second);
    if (page == 0) {
      EXPECT_FALSE(headers.contains("ms-continuationtoken"));
    } else {
      EXPECT_EQ(headers.value("ms-continuationtoken", ""),
                emulator::GeneratedDataset::ContinuationToken(static_cast<int>(page)));
    }
  }
}

TEST(UsageRecordsIntegrationTest, EmptyCollectionIsOneMessageWithNoRecords) {
  auto stack = Start({"--dataset=generated", "--customers=0"}, EmulatorAndServer::WithTokenFile());
  ASSERT_NE(stack, nullptr);
  EmulatorAndServer::Listing listing = stack->List(Options());
  ASSERT_TRUE(listing.summary.status.ok()) << listing.summary.status.error_message();
  EXPECT_TRUE(listing.records.empty());
  EXPECT_EQ(listing.summary.messages, 1);
  EXPECT_EQ(listing.summary.partner_center_total_count, 7);
}

TEST(UsageRecordsIntegrationTest, CallerTokenIsPassedThroughWhenTheServerHasNone) {
  auto stack = Start({"--dataset=seed"}, {});
  ASSERT_NE(stack, nullptr);
  EmulatorAndServer::Listing ok = stack->List(Options(0, kEmulatorToken));
  ASSERT_TRUE(ok.summary.status.ok()) << ok.summary.status.error_message();
  EXPECT_EQ(ok.records.size(), 4u);

  EmulatorAndServer::Listing wrong = stack->List(Options(0, "not-the-token"));
  EXPECT_EQ(wrong.summary.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(wrong.summary.status.error_message(), HasSubstr("HTTP 401"));
  EXPECT_TRUE(wrong.records.empty());

  EmulatorAndServer::Listing none = stack->List(Options());
  EXPECT_EQ(none.summary.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(none.summary.status.error_message(), HasSubstr("authorization"));

  // The server kept serving through the failures, and never logged a token.
  EXPECT_TRUE(stack->List(Options(0, kEmulatorToken)).summary.status.ok());
  EXPECT_THAT(stack->ServerLog(), ::testing::Not(HasSubstr(kEmulatorToken)));
  EXPECT_THAT(stack->ServerLog(), ::testing::Not(HasSubstr("not-the-token")));
}

TEST(UsageRecordsIntegrationTest, UnreachablePartnerCenterIsUnavailableAndTheServerKeepsServing) {
  // A port that was bound and released: nothing listens there.
  int closed_port = 0;
  {
    const int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length), 0);
    closed_port = ntohs(address.sin_port);
    close(probe);
  }
  ASSERT_GT(closed_port, 0);
  const std::string port_file = TempPath("server.port");
  auto server = ChildProcess::Start(RunfilePath("server/pcusage_server"),
                                    {"--listen=127.0.0.1:0", "--port_file=" + port_file,
                                     absl::StrCat("--partner_center_url=http://127.0.0.1:", closed_port),
                                     "--max_attempts=3", "--initial_backoff=10ms"},
                                    TempPath("server.log"));
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<int> port = (*server)->WaitForPortFile(port_file, kStartTimeout);
  ASSERT_TRUE(port.ok()) << port.status();
  {
    client::UsageRecordsClient client(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port), grpc::InsecureChannelCredentials()));
    for (int attempt = 0; attempt < 3; ++attempt) {
      client::ListSummary summary = client.ListUsageRecords(Options(0, kEmulatorToken),
                                                            [](const v1::CustomerMonthlyUsageRecord&) { return true; });
      EXPECT_EQ(summary.status.error_code(), grpc::StatusCode::UNAVAILABLE) << summary.status.error_message();
      EXPECT_THAT(summary.status.error_message(), HasSubstr("page 1"));
      EXPECT_THAT(summary.status.error_message(), HasSubstr("gave up after 3 attempts"));
      ASSERT_TRUE(summary.error_info.has_value());
      EXPECT_EQ(summary.error_info->reason(), "PARTNER_CENTER_UNREACHABLE");
    }
  }
  EXPECT_EQ((*server)->Stop(kStopGrace), 0) << (*server)->Log();
}

TEST(UsageRecordsIntegrationTest, ServerRefusesToStartWithAnUnusableConfiguration) {
  const std::string token_file = EmulatorAndServer::WithTokenFile()[0];  // --access_token_file=...
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--partner_center_url=ftp://example.test"}, "must start with https://"},
      {{"--partner_center_url=http://partner.example.test"}, "http:// only on a loopback host"},
      {{"--access_token_file=/nonexistent/token"}, "--access_token_file"},
      {{"--max_pages=0"}, "max_pages"},
      {{"--locale="}, "locale"},
      {{"--resume_token_key_file=/nonexistent/key"}, "--resume_token_key_file"},
      {{"--cloud=mars"}, "--cloud"},
      {{"--auth_mode=refresh_token", "--client_id=app"}, "--refresh_token_file"},
      {{token_file, "--listen=0.0.0.0:0"}, "refusing to listen on 0.0.0.0:0"},
  };
  for (const auto& [flags, complaint] : cases) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto server = ChildProcess::Start(RunfilePath("server/pcusage_server"), args, TempPath("bad.log"));
    ASSERT_TRUE(server.ok());
    absl::StatusOr<int> port = (*server)->WaitForPortFile(TempPath("never.port"), absl::Seconds(10));
    EXPECT_FALSE(port.ok()) << flags[0];
    const int status = (*server)->Stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << flags[0] << ": status " << status;
    EXPECT_THAT((*server)->Log(), HasSubstr(complaint)) << flags[0];
  }
}

}  // namespace
}  // namespace pcusage
