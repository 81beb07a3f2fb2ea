// The emulator as a whole: starting and stopping, dispatch to the routes, echoed request ids and the request log.

#include "tests/emulator/emulator_server.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/emulator_fixture.h"

namespace pcusage::emulator {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::Optional;
using ::testing::Pair;

TEST_F(EmulatorTest, EchoesRequestIds) {
  Serve({});
  httplib::Result result = client_->Get(kPath, Authorized({{"MS-RequestId", "req-1"}, {"MS-CorrelationId", "corr-1"}}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->get_header_value("MS-RequestId"), "req-1");
  EXPECT_EQ(result->get_header_value("MS-CorrelationId"), "corr-1");

  httplib::Result unauthorized = client_->Get(kPath, {{"MS-RequestId", "req-2"}});
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
  EXPECT_EQ(unauthorized->get_header_value("MS-RequestId"), "req-2");
  EXPECT_FALSE(unauthorized->has_header("MS-CorrelationId"));
}

TEST_F(EmulatorTest, LogsRequestsWithLowercasedHeaders) {
  Serve({});
  ASSERT_TRUE(client_->Get("/v1/customers/usagerecords?size=5&x=%20y",
                           Authorized({{"MS-RequestId", "req-1"}, {"X-Locale", "en-US"}})));
  ASSERT_TRUE(client_->Get(kPath));
  ASSERT_TRUE(client_->Get("/healthz"));

  const std::vector<RecordedRequest> log = emulator_->requests();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].path, kPath);
  EXPECT_EQ(log[0].query, "size=5&x=%20y");
  EXPECT_EQ(log[0].status, 200);
  EXPECT_EQ(log[0].headers.at("authorization"), "Bearer emulator-token");
  EXPECT_EQ(log[0].headers.at("ms-requestid"), "req-1");
  EXPECT_EQ(log[0].headers.at("x-locale"), "en-US");
  EXPECT_EQ(log[0].headers.count("remote_addr"), 0u);
  EXPECT_EQ(log[1].status, 401);
  EXPECT_EQ(log[1].headers.count("authorization"), 0u);
  EXPECT_EQ(log[2].path, "/healthz");
}

TEST_F(EmulatorTest, HealthzAndUnknownRoutes) {
  Serve({});
  httplib::Result health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");
  EXPECT_EQ(client_->Get("/v1/customers")->status, 404);
  EXPECT_EQ(client_->Post(kPath, "", "application/json")->status, 404);
  EXPECT_EQ(client_->Get("/emulator/nothing")->status, 404);

  std::vector<std::pair<std::string, int>> logged;
  for (const RecordedRequest& record : emulator_->requests()) {
    logged.emplace_back(record.method + " " + record.path, record.status);
  }
  EXPECT_THAT(logged, ElementsAre(Pair("GET /healthz", 200), Pair("GET /v1/customers", 404),
                                  Pair("POST /v1/customers/usagerecords", 404)));
}

TEST_F(EmulatorTest, InvalidOptionsAreRejected) {
  EmulatorOptions options;
  options.dataset = EmulatorOptions::Dataset::kGenerated;
  options.page_size = 0;
  PartnerCenterEmulator emulator(options);
  EXPECT_EQ(emulator.Start("127.0.0.1", 0).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EmulatorTest, BusyPortIsUnavailable) {
  Serve({});
  PartnerCenterEmulator second;
  EXPECT_EQ(second.Start("127.0.0.1", emulator_->port()).code(), absl::StatusCode::kUnavailable);
}

TEST_F(EmulatorTest, StartTwiceFailsAndStopIsIdempotent) {
  Serve({});
  EXPECT_EQ(emulator_->Start("127.0.0.1", 0).code(), absl::StatusCode::kFailedPrecondition);
  emulator_->Stop();
  emulator_->Stop();
  EXPECT_FALSE(client_->Get("/healthz"));
}

TEST_F(EmulatorTest, LogsPageFaultAndCompletion) {
  ServeGenerated(10, 3);
  ASSERT_TRUE(client_->Get(kPath, ForPage(2)));
  ASSERT_TRUE(client_->Get(kPath, Authorized({{"MS-ContinuationToken", "not-a-token"}})));
  ASSERT_TRUE(client_->Get("/healthz"));

  const std::optional<RecordedRequest> page = Finished(0);
  ASSERT_TRUE(page.has_value());
  EXPECT_THAT(page->page, Optional(2));
  EXPECT_EQ(page->fault, std::nullopt);
  EXPECT_THAT(page->completed, Optional(true));
  const std::optional<RecordedRequest> unknown = Finished(1);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->status, 400);
  EXPECT_EQ(unknown->page, std::nullopt);
  const std::optional<RecordedRequest> health = Finished(2);
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->page, std::nullopt);

  const json entries = json::parse(client_->Get("/emulator/requests")->body);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0]["page"], 2);
  EXPECT_EQ(entries[0]["fault"], nullptr);
  EXPECT_EQ(entries[0]["completed"], true);
  EXPECT_EQ(entries[1]["page"], nullptr);
}

}  // namespace
}  // namespace pcusage::emulator
