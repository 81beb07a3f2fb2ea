// The /emulator/* control API: the request log as JSON and its reset, and the fault script set and cleared.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/emulator_fixture.h"
#include "tests/emulator/emulator_server.h"

namespace pcusage::emulator {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;

TEST_F(EmulatorTest, ServesTheLogAsJsonAndResetsIt) {
  Serve({});
  ASSERT_TRUE(client_->Get(kPath, Authorized({{"MS-RequestId", "req-1"}})));

  httplib::Result log = client_->Get("/emulator/requests");
  ASSERT_TRUE(log);
  EXPECT_EQ(log->status, 200);
  const json entries = json::parse(log->body);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["method"], "GET");
  EXPECT_EQ(entries[0]["path"], kPath);
  EXPECT_EQ(entries[0]["query"], "");
  EXPECT_EQ(entries[0]["status"], 200);
  EXPECT_EQ(entries[0]["headers"]["ms-requestid"], "req-1");
  EXPECT_EQ(entries[0]["headers"]["authorization"], "Bearer emulator-token");

  httplib::Result reset = client_->Post("/emulator/reset");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->status, 200);
  EXPECT_TRUE(emulator_->requests().empty());
  EXPECT_EQ(json::parse(client_->Get("/emulator/requests")->body), json::array());
}

TEST_F(EmulatorTest, FaultsRouteSetsRestartsAndClearsTheScript) {
  ServeGenerated(10, 3);
  const std::string script = R"([{"page": 0, "fault": "http_status", "status": 503}])";
  httplib::Result set = client_->Post("/emulator/faults", script, "application/json");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->status, 200);
  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 503);
  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 200);

  // Setting the script again restarts its counts.
  ASSERT_EQ(client_->Post("/emulator/faults", script, "application/json")->status, 200);
  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 503);

  // An invalid script is refused with the reason and leaves the script in force.
  ASSERT_EQ(
      client_->Post("/emulator/faults", R"([{"page": 0, "times": -1, "fault": "html"}])", "application/json")->status,
      200);
  httplib::Result invalid =
      client_->Post("/emulator/faults", R"([{"page": 0, "fault": "teapot"}])", "application/json");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->status, 400);
  EXPECT_THAT(invalid->body, HasSubstr("unknown fault \"teapot\""));
  EXPECT_EQ(client_->Get(kPath, Authorized())->get_header_value("Content-Type"), "text/html; charset=utf-8");

  httplib::Result cleared = client_->Delete("/emulator/faults");
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->status, 200);
  EXPECT_EQ(client_->Get(kPath, Authorized())->get_header_value("Content-Type"), "application/json; charset=utf-8");
  // Control requests stay out of the log.
  for (const RecordedRequest& record : emulator_->requests()) EXPECT_EQ(record.path, kPath);
}

}  // namespace
}  // namespace pcusage::emulator
