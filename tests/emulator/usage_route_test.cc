// The usage route: the bearer token check, the seed sample, and paging through a generated data set.

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/dataset.h"
#include "tests/emulator/emulator_fixture.h"
#include "tests/emulator/emulator_server.h"
#include "tests/emulator/seed_sample.h"

namespace pcusage::emulator {
namespace {

using ::nlohmann::json;

TEST_F(EmulatorTest, SeedModeServesTheSampleBytes) {
  Serve({});
  httplib::Result result = client_->Get(kPath, Authorized());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, SeedSampleResponse());
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json; charset=utf-8");
}

TEST_F(EmulatorTest, MissingTokenIsUnauthorized) {
  Serve({});
  httplib::Result result = client_->Get(kPath);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  const json body = json::parse(result->body);
  EXPECT_EQ(body["code"], 900);
  EXPECT_TRUE(body["description"].is_string());
  EXPECT_EQ(body["data"], json::array());
  EXPECT_EQ(body["source"], "PartnerFD");
}

TEST_F(EmulatorTest, WrongTokenIsUnauthorized) {
  Serve({});
  for (const char* authorization :
       {"Bearer other-token", "Basic emulator-token", "emulator-token", "Bearer emulator-token2"}) {
    httplib::Result result = client_->Get(kPath, {{"Authorization", authorization}});
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 401) << authorization;
  }
}

TEST_F(EmulatorTest, AcceptsTheConfiguredToken) {
  EmulatorOptions options;
  options.access_token = "another-token";
  Serve(options);
  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 401);
  EXPECT_EQ(client_->Get(kPath, {{"Authorization", "bearer another-token"}})->status, 200);
}

TEST_F(EmulatorTest, AcceptsEachOfSeveralConfiguredTokens) {
  EmulatorOptions options;
  options.access_token = "partner-a,partner-b";
  Serve(options);
  EXPECT_EQ(client_->Get(kPath, {{"Authorization", "Bearer partner-a"}})->status, 200);
  EXPECT_EQ(client_->Get(kPath, {{"Authorization", "Bearer partner-b"}})->status, 200);
  for (const char* authorization : {"Bearer partner-a,partner-b", "Bearer partner", "Bearer "}) {
    EXPECT_EQ(client_->Get(kPath, {{"Authorization", authorization}})->status, 401) << authorization;
  }
}

TEST_F(EmulatorTest, AnEmptyAccessTokenAcceptsNoStaticToken) {
  EmulatorOptions options;
  options.access_token = "";
  Serve(options);
  EXPECT_EQ(client_->Get(kPath, {{"Authorization", "Bearer "}})->status, 401);
  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 401);
}

TEST_F(EmulatorTest, GeneratedPagingYieldsEveryRecordOnce) {
  ServeGenerated(23, 5);
  const GeneratedDataset expected(23, 5);

  std::vector<std::string> ids;
  std::set<std::string> tokens_seen;
  httplib::Headers headers = Authorized();
  std::string path = kPath;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10) << "paging does not end";
    httplib::Result result = client_->Get(path.c_str(), headers);
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200) << result->body;
    const json page = json::parse(result->body);
    for (const json& item : page["items"]) {
      ids.push_back(item["id"].get<std::string>());
    }
    if (!page["links"].contains("next")) break;

    const json& next = page["links"]["next"];
    path = next["uri"].get<std::string>();
    headers = Authorized();
    for (const json& header : next["headers"]) {
      const auto key = header["key"].get<std::string>();
      const auto value = header["value"].get<std::string>();
      headers.emplace(key, value);
      if (key == "MS-ContinuationToken") {
        EXPECT_TRUE(tokens_seen.insert(value).second);
      }
    }
  }

  std::vector<std::string> expected_ids;
  for (const GeneratedRecord& record : expected.records()) {
    expected_ids.push_back(record.id);
  }
  EXPECT_EQ(ids, expected_ids);
  EXPECT_EQ(tokens_seen.size(), 4u);
}

TEST_F(EmulatorTest, EmptyGeneratedDataSetIsOnePage) {
  ServeGenerated(0, 10);
  httplib::Result result = client_->Get(kPath, Authorized());
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  const json page = json::parse(result->body);
  EXPECT_EQ(page["items"], json::array());
  EXPECT_FALSE(page["links"].contains("next"));
}

TEST_F(EmulatorTest, UnknownContinuationTokenIsBadRequest) {
  ServeGenerated(10, 3);
  httplib::Result result = client_->Get(kPath, Authorized({{"MS-ContinuationToken", "not-a-token"}}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  const json body = json::parse(result->body);
  EXPECT_TRUE(body["code"].is_number());
  EXPECT_EQ(body["source"], "PartnerFD");
}

}  // namespace
}  // namespace pcusage::emulator
