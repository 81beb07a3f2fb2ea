// The fault matrix: each row scripts a Partner Center failure in the emulator and checks, through the real server,
// the status and error details a caller gets, how many records arrived (each exactly once, in order), how many
// requests reached Partner Center, and that retries of a page reused its MS-RequestId. One emulator and one server
// serve every row, so the last rows also show the server kept serving through all the earlier ones.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/emulator/dataset.h"
#include "tests/testing/emulator_and_server.h"

namespace pcusage {
namespace {

using ::pcusage::testing::EmulatorAndServer;
using ::testing::HasSubstr;

// 30 customers in Partner Center pages of 10: pages 0, 1 and 2.
constexpr int kCustomers = 30;
constexpr int kPartnerCenterPageSize = 10;

struct Row {
  std::string name;
  std::string faults;  // the emulator's fault script
  grpc::StatusCode code;
  std::string reason;                               // ErrorInfo.reason; empty for OK
  int records;                                      // delivered before the stream ended
  int upstream_requests;                            // requests the emulator saw
  std::string message_part = "";                    // a part of the status message
  std::optional<int64_t> retry_delay_seconds = {};  // RetryInfo, when expected
  absl::Duration timeout = absl::Seconds(30);       // the caller's deadline
  // Whether the status comes from the server, with error details; a deadline expires at the caller first.
  bool status_from_server = true;
};

std::string Rule(int page, const std::string& fault, const std::string& parameters = "", int times = 1) {
  return absl::StrCat(R"({"page": )", page, R"(, "times": )", times, R"(, "fault": ")", fault, "\"",
                      parameters.empty() ? "" : ", ", parameters, "}");
}

std::string Script(const std::vector<std::string>& rules) {
  std::string script = "[";
  for (std::size_t i = 0; i < rules.size(); ++i) absl::StrAppend(&script, i ? ", " : "", rules[i]);
  return script + "]";
}

std::vector<Row> Rows() {
  using grpc::StatusCode;
  return {
      {"no fault", "[]", StatusCode::OK, "", 30, 3},
      {"429 with Retry-After once, then OK", Script({Rule(1, "throttle", R"("retry_after": "1")")}), StatusCode::OK, "",
       30, 4},
      {"429 without Retry-After: the body's 'Try again in 1 seconds'",
       Script({Rule(1, "throttle", R"("message_seconds": 1)")}), StatusCode::OK, "", 30, 4},
      {"429 with an HTTP-date Retry-After",
       Script({Rule(2, "throttle", R"("retry_after": "Thu, 01 Jan 1970 00:00:00 GMT")")}), StatusCode::OK, "", 30, 4},
      {"429 on every attempt", Script({Rule(1, "throttle", R"("retry_after": "0")", -1)}),
       StatusCode::RESOURCE_EXHAUSTED, "PARTNER_CENTER_RATE_LIMITED", 10, 4, "gave up after 3 attempts", 0},
      {"429 asking for longer than --max_retry_after", Script({Rule(1, "throttle", R"("retry_after": "600")")}),
       StatusCode::RESOURCE_EXHAUSTED, "PARTNER_CENTER_RATE_LIMITED", 10, 2, "Retry-After: 600", 600},
      {"429 whose wait would pass the caller's deadline", Script({Rule(0, "throttle", R"("retry_after": "20")")}),
       StatusCode::RESOURCE_EXHAUSTED, "PARTNER_CENTER_RATE_LIMITED", 0, 1, "would pass the call's deadline", 20,
       absl::Seconds(10)},
      {"503 burst of two, then OK", Script({Rule(0, "http_status", R"("status": 503)", 2)}), StatusCode::OK, "", 30, 5},
      {"502 then 504, then OK",
       Script({Rule(1, "http_status", R"("status": 502)"), Rule(1, "http_status", R"("status": 504)")}), StatusCode::OK,
       "", 30, 5},
      {"500 on every attempt", Script({Rule(2, "http_status", R"("status": 500)", -1)}), StatusCode::UNAVAILABLE,
       "PARTNER_CENTER_UNAVAILABLE", 20, 5, "HTTP 500"},
      {"401", Script({Rule(0, "http_status", R"("status": 401, "description": "token expired")")}),
       StatusCode::UNAUTHENTICATED, "PARTNER_CENTER_UNAUTHENTICATED", 0, 1, "token expired"},
      {"403 on page 1", Script({Rule(1, "http_status", R"("status": 403)")}), StatusCode::PERMISSION_DENIED,
       "PARTNER_CENTER_PERMISSION_DENIED", 10, 2},
      {"404 with code 3000",
       Script({Rule(0, "http_status",
                    R"("status": 404, "error_code": 3000, "description": "Customer does not have usage data")")}),
       StatusCode::NOT_FOUND, "PARTNER_CENTER_NOT_FOUND", 0, 1, "error code 3000: Customer does not have usage data"},
      {"400", Script({Rule(1, "http_status", R"("status": 400)")}), StatusCode::INTERNAL,
       "PARTNER_CENTER_REJECTED_REQUEST", 10, 2},
      {"slow first byte within the page timeout", Script({Rule(0, "slow_first_byte", R"("delay_ms": 300)")}),
       StatusCode::OK, "", 30, 3},
      {"slow first byte past the page timeout, then OK", Script({Rule(1, "slow_first_byte", R"("delay_ms": 4000)")}),
       StatusCode::OK, "", 30, 4},
      {"stall mid-body past the page timeout, then OK", Script({Rule(1, "stall_mid_body", R"("delay_ms": 4000)")}),
       StatusCode::OK, "", 30, 4},
      {"connection cut mid-body once, then OK", Script({Rule(1, "reset_mid_body")}), StatusCode::OK, "", 30, 4},
      {"connection cut mid-body on every attempt", Script({Rule(1, "reset_mid_body", "", -1)}), StatusCode::UNAVAILABLE,
       "PARTNER_CENTER_UNREACHABLE", 10, 4, "gave up after 3 attempts"},
      {"truncated JSON", Script({Rule(1, "truncated_json")}), StatusCode::INTERNAL, "PARTNER_CENTER_BAD_RESPONSE", 10,
       2, "page 2 could not be read"},
      {"invalid JSON", Script({Rule(0, "invalid_json")}), StatusCode::INTERNAL, "PARTNER_CENTER_BAD_RESPONSE", 0, 1,
       "not valid JSON"},
      {"HTML instead of JSON", Script({Rule(0, "html")}), StatusCode::INTERNAL, "PARTNER_CENTER_BAD_RESPONSE", 0, 1,
       "Content-Type text/html"},
      {"wrong types on page 2", Script({Rule(2, "wrong_types")}), StatusCode::INTERNAL, "PARTNER_CENTER_BAD_RESPONSE",
       20, 3, "items[0].totalCost"},
      {"a body past --max_response_bytes", Script({Rule(0, "huge_body", R"("bytes": 300000)")}),
       StatusCode::FAILED_PRECONDITION, "PARTNER_CENTER_RESPONSE_TOO_LARGE", 0, 1, "exceeded"},
      {"links.next looping to the same page", Script({Rule(1, "loop_next")}), StatusCode::INTERNAL,
       "PARTNER_CENTER_PAGING_LOOP", 20, 2, "repeats an earlier page"},
      {"a page slower than the caller's whole deadline",
       Script({Rule(0, "slow_first_byte", R"("delay_ms": 6000)")}),
       StatusCode::DEADLINE_EXCEEDED,
       "",
       0,
       1,
       "",
       {},
       absl::Milliseconds(1500),
       /*status_from_server=*/false},
      {"no fault, after all of the above", "[]", StatusCode::OK, "", 30, 3},
  };
}

class FaultMatrixTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<EmulatorAndServer>> started = EmulatorAndServer::Start(
        {"--dataset=generated", absl::StrCat("--customers=", kCustomers),
         absl::StrCat("--page_size=", kPartnerCenterPageSize)},
        // Every row is one call's own walk under its faults: no snapshot serves the next
        // row (snapshot_test.cc covers shared walks).
        {"--access_token_file=" + TokenFile(), "--max_attempts=3", "--initial_backoff=10ms", "--max_backoff=50ms",
         "--page_timeout=2s", "--max_response_bytes=200000", "--snapshot_max_staleness=0"});
    ASSERT_TRUE(started.ok()) << started.status();
    stack_ = started->release();
  }

  static void TearDownTestSuite() {
    if (stack_ == nullptr) return;
    // Through every fault the server kept running: it still drains and exits cleanly.
    const int status = stack_->StopServer();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << stack_->ServerLog();
    delete stack_;
    stack_ = nullptr;
  }

  static std::string TokenFile() {
    std::vector<std::string> flags = EmulatorAndServer::WithTokenFile();
    return flags[0].substr(flags[0].find('=') + 1);
  }

  static EmulatorAndServer* stack_;
};

EmulatorAndServer* FaultMatrixTest::stack_ = nullptr;

TEST_F(FaultMatrixTest, EveryRowEndsAsExpected) {
  ASSERT_NE(stack_, nullptr);
  const emulator::GeneratedDataset dataset(kCustomers, kPartnerCenterPageSize);
  const std::vector<Row> rows = Rows();
  ASSERT_GE(rows.size(), 20u);
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ASSERT_TRUE(stack_->SetFaults(row.faults).ok());
    client::ListOptions options;
    options.page_size = 7;
    options.timeout = row.timeout;
    EmulatorAndServer::Listing listing = stack_->List(options);

    EXPECT_EQ(listing.summary.status.error_code(), row.code) << listing.summary.status.error_message();
    EXPECT_THAT(listing.summary.status.error_message(), HasSubstr(row.message_part));
    if (row.code == grpc::StatusCode::OK || !row.status_from_server) {
      EXPECT_FALSE(listing.summary.error_info.has_value());
    } else {
      ASSERT_TRUE(listing.summary.error_info.has_value());
      EXPECT_EQ(listing.summary.error_info->reason(), row.reason);
      EXPECT_EQ(listing.summary.error_info->domain(), "pcusage");
      EXPECT_EQ(listing.summary.error_info->metadata().at("ms_correlation_id"), listing.summary.correlation_id);
    }
    EXPECT_EQ(listing.summary.retry_info.has_value(), row.retry_delay_seconds.has_value());
    if (row.retry_delay_seconds.has_value() && listing.summary.retry_info.has_value()) {
      EXPECT_EQ(listing.summary.retry_info->retry_delay().seconds(), *row.retry_delay_seconds);
    }

    // Exactly the first `records` records, in order: none lost, none repeated.
    ASSERT_EQ(listing.records.size(), static_cast<std::size_t>(row.records));
    for (int i = 0; i < row.records; ++i) {
      EXPECT_EQ(listing.records[i].resource_id(), dataset.records()[i].resource_id) << "record " << i;
    }

    // Upstream: the expected number of requests, retries of a page with that page's MS-RequestId, and a new
    // MS-RequestId for each new page.
    nlohmann::json requests = stack_->EmulatorRequests();
    ASSERT_TRUE(requests.is_array());
    EXPECT_EQ(static_cast<int>(requests.size()), row.upstream_requests) << requests.dump(1);
    std::map<int, std::string> request_id_of_page;
    for (const nlohmann::json& request : requests) {
      const int page = request.value("page", -1);
      const std::string request_id = request["headers"].value("ms-requestid", "");
      auto [it, first] = request_id_of_page.emplace(page, request_id);
      EXPECT_EQ(it->second, request_id) << "a retry of page " << page << " changed its MS-RequestId";
      EXPECT_EQ(request["headers"].value("ms-correlationid", ""), listing.summary.correlation_id);
    }
    std::set<std::string> distinct;
    for (const auto& [page, request_id] : request_id_of_page) distinct.insert(request_id);
    EXPECT_EQ(distinct.size(), request_id_of_page.size()) << "two pages shared an MS-RequestId";
  }
}

TEST_F(FaultMatrixTest, AResumedStreamDeliversExactlyTheRecordsMissed) {
  ASSERT_NE(stack_, nullptr);
  ASSERT_TRUE(stack_->SetFaults(Script({Rule(2, "http_status", R"("status": 503)", -1)})).ok());
  client::ListOptions options;
  options.page_size = 4;
  EmulatorAndServer::Listing failed = stack_->List(options);
  ASSERT_EQ(failed.summary.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_EQ(failed.records.size(), 20u);
  ASSERT_FALSE(failed.summary.resume_token.empty());

  ASSERT_TRUE(stack_->SetFaults("[]").ok());
  options.resume_token = failed.summary.resume_token;
  EmulatorAndServer::Listing resumed = stack_->List(options);
  ASSERT_TRUE(resumed.summary.status.ok()) << resumed.summary.status.error_message();

  const emulator::GeneratedDataset dataset(kCustomers, kPartnerCenterPageSize);
  ASSERT_EQ(failed.records.size() + resumed.records.size(), dataset.records().size());
  for (std::size_t i = 0; i < resumed.records.size(); ++i) {
    EXPECT_EQ(resumed.records[i].resource_id(), dataset.records()[20 + i].resource_id) << i;
  }
  // The resumed call asked Partner Center for page 2 only.
  nlohmann::json requests = stack_->EmulatorRequests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].value("page", -1), 2);
}

TEST_F(FaultMatrixTest, ResumingInTheMiddleOfAPageSkipsOnlyWhatWasDelivered) {
  ASSERT_NE(stack_, nullptr);
  ASSERT_TRUE(stack_->SetFaults("[]").ok());
  // Messages never span Partner Center pages: with page_size 7 the first page of 10 comes as 7 + 3. The caller
  // stops inside the second message, so the token it keeps is the one after the first: 7 records into page 0.
  client::ListOptions options;
  options.page_size = 7;
  EmulatorAndServer::Listing stopped = stack_->List(options, /*stop_after=*/8);
  ASSERT_EQ(stopped.summary.status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_FALSE(stopped.summary.resume_token.empty());

  options.resume_token = stopped.summary.resume_token;
  EmulatorAndServer::Listing resumed = stack_->List(options);
  ASSERT_TRUE(resumed.summary.status.ok()) << resumed.summary.status.error_message();
  const emulator::GeneratedDataset dataset(kCustomers, kPartnerCenterPageSize);
  ASSERT_EQ(resumed.records.size(), dataset.records().size() - 7);
  for (std::size_t i = 0; i < resumed.records.size(); ++i) {
    EXPECT_EQ(resumed.records[i].resource_id(), dataset.records()[7 + i].resource_id) << i;
  }
}

// The deadline ends the call at the caller and, through ServerContext::IsCancelled, the transfer upstream. (Explicit
// cancellation mid-stream is covered by the Go, Python and Java client suites.)
TEST_F(FaultMatrixTest, ADeadlinePassingMidTransferAbortsTheUpstreamTransfer) {
  ASSERT_NE(stack_, nullptr);
  ASSERT_TRUE(stack_->SetFaults(Script({Rule(0, "slow_body", R"("chunk_ms": 100, "duration_ms": 20000)")})).ok());
  client::ListOptions options;
  options.timeout = absl::Seconds(1);  // the caller gives up long before the 20 s body is done
  const absl::Time start = absl::Now();
  EmulatorAndServer::Listing listing = stack_->List(options);
  EXPECT_EQ(listing.summary.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(listing.records.empty());

  // The emulator sees the connection go away: the transfer was aborted, not left to run for 20 s.
  nlohmann::json requests;
  for (absl::Time give_up = absl::Now() + absl::Seconds(10); absl::Now() < give_up;
       absl::SleepFor(absl::Milliseconds(50))) {
    requests = stack_->EmulatorRequests();
    if (requests.is_array() && requests.size() == 1 && requests[0]["completed"].is_boolean()) break;
  }
  ASSERT_TRUE(requests.is_array());
  ASSERT_EQ(requests.size(), 1u) << "no further page may be requested";
  ASSERT_TRUE(requests[0]["completed"].is_boolean()) << "the upstream transfer was still running";
  EXPECT_FALSE(requests[0]["completed"].get<bool>());
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));  // a hang guard: the body alone would take 20 s
}

}  // namespace
}  // namespace pcusage
