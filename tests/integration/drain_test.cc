// The drain on SIGTERM over real processes on loopback: health turns NOT_SERVING, new calls are refused with
// UNAVAILABLE, a running stream goes on until --drain_timeout and then ends with UNAVAILABLE (SERVER_DRAINING) after
// its last message, its resume token continues exactly on another replica, and the server exits 0.
#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/emulator_and_server.h"
#include "tests/testing/health_check.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::pcusage::testing::AwaitHealthStatus;
using ::pcusage::testing::EmulatorAndServer;
using ::pcusage::testing::HealthStatus;

constexpr int kCustomers = 120;
constexpr int kPageSize = 10;
constexpr char kServiceName[] = "partnercenter.usage.v1.UsageRecordsService";

// Every page but the first answers after `delay_ms`, so a listing takes about (pages - 1) x delay.
std::string SlowPages(int delay_ms) {
  std::string script = "[";
  for (int page = 1; page < kCustomers / kPageSize; ++page) {
    absl::StrAppend(&script, page > 1 ? "," : "", R"({"page": )", page, R"(, "fault": "slow_first_byte", "delay_ms": )",
                    delay_ms, "}");
  }
  return script + "]";
}

std::unique_ptr<EmulatorAndServer> Start(absl::Duration drain_timeout) {
  const std::string key_file = pcusage::testing::TempPath("resume_key");
  // Replicas share the resume-token key, so a token from one is good on the other.
  std::ofstream(key_file) << "0123456789abcdef0123456789abcdef\n";
  std::vector<std::string> flags = EmulatorAndServer::WithTokenFile();
  flags.push_back("--resume_token_key_file=" + key_file);
  flags.push_back(absl::StrCat("--drain_timeout=", absl::FormatDuration(drain_timeout)));
  flags.push_back("--snapshot_max_staleness=0");
  absl::StatusOr<std::unique_ptr<EmulatorAndServer>> stack = EmulatorAndServer::Start(
      {"--dataset=generated", absl::StrCat("--customers=", kCustomers), absl::StrCat("--page_size=", kPageSize)},
      flags);
  EXPECT_TRUE(stack.ok()) << stack.status();
  return stack.ok() ? *std::move(stack) : nullptr;
}

client::ListOptions Options(std::string resume_token = "") {
  client::ListOptions options;
  options.page_size = kPageSize;
  options.timeout = absl::Seconds(60);
  options.resume_token = std::move(resume_token);
  return options;
}

std::vector<std::string> Ids(const std::vector<v1::CustomerMonthlyUsageRecord>& records) {
  std::vector<std::string> ids;
  for (const auto& record : records) ids.push_back(record.resource_id());
  return ids;
}

TEST(DrainTest, ARunningStreamEndsAtTheDrainTimeoutAndResumesExactlyOnAnotherReplica) {
  std::unique_ptr<EmulatorAndServer> stack = Start(absl::Seconds(2));
  ASSERT_NE(stack, nullptr);
  const std::vector<std::string> all = Ids(stack->List(Options()).records);
  ASSERT_EQ(all.size(), kCustomers);
  ASSERT_TRUE(stack->SetFaults(SlowPages(700)).ok());
  EXPECT_EQ(HealthStatus(stack->server_port(), kServiceName), "SERVING");

  absl::Notification first_record;
  EmulatorAndServer::Listing cut;
  std::thread lister([&] {
    cut = stack->List(Options(), [&first_record](const v1::CustomerMonthlyUsageRecord&) {
      if (!first_record.HasBeenNotified()) first_record.Notify();
      return true;
    });
  });
  ASSERT_TRUE(first_record.WaitForNotificationWithTimeout(absl::Seconds(30)));
  stack->SignalServer(SIGTERM);

  // While the drain runs: NOT_SERVING, both for the service and for the server as a whole, and new calls refused.
  EXPECT_TRUE(AwaitHealthStatus(stack->server_port(), kServiceName, "NOT_SERVING"));
  EXPECT_EQ(HealthStatus(stack->server_port(), ""), "NOT_SERVING");
  client::UsageRecordsClient other(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", stack->server_port()), grpc::InsecureChannelCredentials()));
  client::ListSummary refused = other.ListUsageRecords(Options(), nullptr);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.status.error_message();
  ASSERT_TRUE(refused.error_info.has_value());
  EXPECT_EQ(refused.error_info->reason(), "SERVER_DRAINING");
  EXPECT_EQ(refused.records, 0);

  lister.join();
  EXPECT_EQ(cut.summary.status.error_code(), grpc::StatusCode::UNAVAILABLE) << cut.summary.status.error_message();
  ASSERT_TRUE(cut.summary.error_info.has_value());
  EXPECT_EQ(cut.summary.error_info->reason(), "SERVER_DRAINING");
  ASSERT_FALSE(cut.summary.resume_token.empty());
  ASSERT_GT(cut.records.size(), 0u);
  ASSERT_LT(cut.records.size(), all.size()) << "the listing should have been cut short by the drain";

  const int exit_status = stack->StopServer();
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0) << "wait status " << exit_status;
  EXPECT_NE(stack->ServerLog().find("--drain_timeout passed with 1 calls running"), std::string::npos)
      << stack->ServerLog();

  ASSERT_TRUE(stack->SetFaults("[]").ok());
  ASSERT_TRUE(stack->ReplaceServer().ok());
  EmulatorAndServer::Listing rest = stack->List(Options(cut.summary.resume_token));
  ASSERT_TRUE(rest.summary.status.ok()) << rest.summary.status.error_message();
  std::vector<std::string> joined = Ids(cut.records);
  const std::vector<std::string> resumed = Ids(rest.records);
  joined.insert(joined.end(), resumed.begin(), resumed.end());
  EXPECT_EQ(joined, all) << "every record exactly once, in order";
}

TEST(DrainTest, AStreamThatEndsWithinTheDrainTimeoutCompletesAndTheServerExitsZero) {
  std::unique_ptr<EmulatorAndServer> stack = Start(absl::Seconds(60));
  ASSERT_NE(stack, nullptr);
  ASSERT_TRUE(stack->SetFaults(SlowPages(100)).ok());
  absl::Notification first_record;
  EmulatorAndServer::Listing listing;
  std::thread lister([&] {
    listing = stack->List(Options(), [&first_record](const v1::CustomerMonthlyUsageRecord&) {
      if (!first_record.HasBeenNotified()) first_record.Notify();
      return true;
    });
  });
  ASSERT_TRUE(first_record.WaitForNotificationWithTimeout(absl::Seconds(30)));
  stack->SignalServer(SIGTERM);
  lister.join();
  EXPECT_TRUE(listing.summary.status.ok()) << listing.summary.status.error_message();
  EXPECT_EQ(listing.records.size(), kCustomers);
  const int exit_status = stack->StopServer();
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0) << "wait status " << exit_status;
  EXPECT_EQ(stack->ServerLog().find("--drain_timeout passed"), std::string::npos) << stack->ServerLog();
}

TEST(DrainTest, AnIdleServerExitsZeroAtOnce) {
  std::unique_ptr<EmulatorAndServer> stack = Start(absl::Seconds(60));
  ASSERT_NE(stack, nullptr);
  const int exit_status = stack->StopServer();
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0) << "wait status " << exit_status;
  EXPECT_NE(stack->ServerLog().find("pcusage stopped"), std::string::npos) << stack->ServerLog();
}

}  // namespace
}  // namespace pcusage
