// Readiness over real processes on loopback: the health entry of partnercenter.usage.v1.UsageRecordsService turns
// NOT_SERVING when Partner Center stops answering or the server-held credentials get no token, and SERVING again
// after a call or the probe succeeds; the overall entry ("") stays SERVING throughout.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/emulator_and_server.h"
#include "tests/testing/health_check.h"

namespace pcusage {
namespace {

using ::pcusage::testing::AwaitHealthStatus;
using ::pcusage::testing::EmulatorAndServer;
using ::pcusage::testing::HealthStatus;

constexpr char kServiceName[] = "partnercenter.usage.v1.UsageRecordsService";

client::ListOptions Options() {
  client::ListOptions options;
  options.timeout = absl::Seconds(60);
  return options;
}

TEST(ReadinessTest, UnansweredPagesMakeItNotServingAndASuccessfulCallServingAgain) {
  std::vector<std::string> flags = EmulatorAndServer::WithTokenFile();
  flags.insert(flags.end(), {"--max_attempts=1", "--unready_after_failures=2", "--readiness_probe_interval=0",
                             "--snapshot_max_staleness=0"});
  absl::StatusOr<std::unique_ptr<EmulatorAndServer>> stack =
      EmulatorAndServer::Start({"--dataset=generated", "--customers=20", "--page_size=10"}, flags);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const int port = (*stack)->server_port();
  EXPECT_EQ(HealthStatus(port, kServiceName), "SERVING");

  ASSERT_TRUE((*stack)->SetFaults(R"([{"page": 0, "times": -1, "fault": "reset_mid_body"}])").ok());
  EXPECT_EQ((*stack)->List(Options()).summary.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(HealthStatus(port, kServiceName), "SERVING") << "one unanswered request is under the threshold of 2";
  EXPECT_EQ((*stack)->List(Options()).summary.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(HealthStatus(port, kServiceName), "NOT_SERVING");
  EXPECT_EQ(HealthStatus(port, ""), "SERVING") << "the process is alive";

  ASSERT_TRUE((*stack)->SetFaults("[]").ok());
  EmulatorAndServer::Listing listing = (*stack)->List(Options());
  EXPECT_TRUE(listing.summary.status.ok()) << listing.summary.status.error_message();
  EXPECT_EQ(listing.records.size(), 20u);
  EXPECT_EQ(HealthStatus(port, kServiceName), "SERVING");
  EXPECT_NE((*stack)->ServerLog().find("not ready: health NOT_SERVING"), std::string::npos);
}

TEST(ReadinessTest, NoTokenMakesItNotServingAtOnceAndTheProbeMakesItServingAgain) {
  const std::vector<std::string> flags = {
      "--auth_mode=refresh_token",
      "--client_id=pcusage-test-client",
      "--client_secret_file=" +
          [] {
            const std::string path = pcusage::testing::TempPath("client_secret");
            std::ofstream(path) << "client-secret-9a7e\n";
            return path;
          }(),
      "--refresh_token_file=" +
          [] {
            const std::string path = pcusage::testing::TempPath("refresh_token");
            std::ofstream(path) << "rt-initial-4f1c\n";
            return path;
          }(),
      absl::StrCat("--token_url=http://127.0.0.1:", pcusage::testing::kEmulatorPortPlaceholder,
                   "/contoso/oauth2/token"),
      "--max_attempts=1",
      "--readiness_probe_interval=200ms",
      "--snapshot_max_staleness=0"};
  absl::StatusOr<std::unique_ptr<EmulatorAndServer>> stack =
      EmulatorAndServer::Start({"--dataset=generated", "--customers=20", "--page_size=10",
                                "--refresh_token=rt-initial-4f1c", "--client_secret=client-secret-9a7e"},
                               flags);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const int port = (*stack)->server_port();
  EXPECT_EQ(HealthStatus(port, kServiceName), "SERVING");

  ASSERT_TRUE((*stack)->SetFaults(R"([{"route": "token", "times": -1, "fault": "http_status", "status": 503}])").ok());
  EXPECT_FALSE((*stack)->List(Options()).summary.status.ok());
  EXPECT_EQ(HealthStatus(port, kServiceName), "NOT_SERVING") << "no token: every call would fail";
  EXPECT_EQ(HealthStatus(port, ""), "SERVING");

  // No call comes; the probe finds the token endpoint (and Partner Center) answering again.
  ASSERT_TRUE((*stack)->SetFaults("[]").ok());
  EXPECT_TRUE(AwaitHealthStatus(port, kServiceName, "SERVING"));
  EXPECT_TRUE((*stack)->List(Options()).summary.status.ok());
}

}  // namespace
}  // namespace pcusage
