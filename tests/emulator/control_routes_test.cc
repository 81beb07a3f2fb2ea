// The /emulator/* control API: the request log as JSON and its reset, the fault script set and cleared, and the
// generated data set edited between walks.

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

// Every item of every page, following links.next as a client would.
json AllItems(httplib::Client& client) {
  json items = json::array();
  httplib::Headers headers = {{"Authorization", "Bearer emulator-token"}};
  for (int guard = 0; guard < 100; ++guard) {
    httplib::Result page = client.Get("/v1/customers/usagerecords", headers);
    if (!page || page->status != 200) return nullptr;
    const json body = json::parse(page->body);
    for (const json& item : body["items"]) items.push_back(item);
    if (!body["links"].contains("next")) return items;
    headers = {{"Authorization", "Bearer emulator-token"},
               {"MS-ContinuationToken", body["links"]["next"]["headers"][0]["value"].get<std::string>()}};
  }
  return nullptr;
}

TEST_F(EmulatorTest, DatasetRouteChangesAddsAndRemovesCustomersBetweenWalks) {
  ServeGenerated(5, 2);
  const json before = AllItems(*client_);
  ASSERT_EQ(before.size(), 5u);
  const std::string first = before[0]["resourceId"];
  const std::string second = before[1]["resourceId"];
  const std::string third = before[2]["resourceId"];

  const std::string edits = R"([{"resource_id": ")" + first +
                            R"(", "percent_used": "79.99999999999999999999", "budget": "1000"},
      {"resource_id": ")" + second +
                            R"(", "remove": true},
      {"resource_id": ")" + third +
                            R"(", "percent_used": null, "currency_code": "EUR"},
      {"resource_id": "dddddddd-0000-0000-0000-000000000009", "add": true, "resource_name": "Late Co",
       "percent_used": "1E+2", "budget": null}])";
  httplib::Result changed = client_->Post("/emulator/dataset", edits, "application/json");
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);

  // Exact text on the wire, pages shifted, the added customer last.
  httplib::Result raw = client_->Get(kPath, Authorized());
  ASSERT_TRUE(raw);
  EXPECT_THAT(raw->body, HasSubstr("\"percentUsed\": 79.99999999999999999999"));
  const json after = AllItems(*client_);
  ASSERT_EQ(after.size(), 5u);
  EXPECT_EQ(after[0]["resourceId"], first);
  EXPECT_EQ(after[0]["budget"]["amount"].dump(), "1000");
  EXPECT_EQ(after[1]["resourceId"], third);
  EXPECT_TRUE(!after[1].contains("percentUsed") || after[1]["percentUsed"].is_null());
  EXPECT_EQ(after[1]["currencyCode"], "EUR");
  EXPECT_EQ(after[4]["resourceId"], "dddddddd-0000-0000-0000-000000000009");
  EXPECT_EQ(after[4]["resourceName"], "Late Co");
  EXPECT_EQ(after[4]["percentUsed"].dump(), "100.0");
  EXPECT_TRUE(after[4]["budget"].is_object());
  EXPECT_FALSE(after[4]["budget"].contains("amount") && !after[4]["budget"]["amount"].is_null());
  for (const json& item : after) EXPECT_NE(item["resourceId"], second);
}

TEST_F(EmulatorTest, DatasetRouteRefusesBadEditsAndChangesNothing) {
  ServeGenerated(3, 10);
  const json before = AllItems(*client_);
  const std::string first = before[0]["resourceId"];
  for (const std::string& body :
       {std::string("{}"), std::string(R"([{"percent_used": "1"}])"),
        R"([{"resource_id": ")" + first + R"(", "percent_used": 80}])",
        R"([{"resource_id": ")" + first + R"(", "percent_used": "eighty"}])",
        R"([{"resource_id": ")" + first + R"(", "colour": "red"}])",
        R"([{"resource_id": ")" + first + R"(", "add": true}])",
        R"([{"resource_id": ")" + first + R"(", "percent_used": "1"}, {"resource_id": "nobody", "remove": true}])"}) {
    httplib::Result refused = client_->Post("/emulator/dataset", body, "application/json");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << body;
  }
  EXPECT_EQ(AllItems(*client_), before);

  Serve({});  // the seed sample does not change
  httplib::Result seed = client_->Post("/emulator/dataset", "[]", "application/json");
  ASSERT_TRUE(seed);
  EXPECT_EQ(seed->status, 400);
  EXPECT_THAT(seed->body, HasSubstr("seed sample"));
}

}  // namespace
}  // namespace pcusage::emulator
