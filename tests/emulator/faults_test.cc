// Fault scripts on the usage route: the faults that change what a page says, how rules are used up, and
// which scripts are refused.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/dataset.h"
#include "tests/emulator/emulator_fixture.h"
#include "tests/emulator/emulator_server.h"
#include "tests/emulator/fault_script.h"
#include "tests/emulator/seed_sample.h"

namespace pcusage::emulator {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::Pair;

TEST_F(EmulatorTest, HttpStatusSendsAPartnerCenterErrorBody) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "fault": "http_status", "status": 503, "retry_after": "2"}])");
  httplib::Result result = client_->Get(kPath, Authorized({{"MS-RequestId", "req-1"}}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->get_header_value("Retry-After"), "2");
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(result->get_header_value("MS-RequestId"), "req-1");
  const json body = json::parse(result->body);
  EXPECT_EQ(body["code"], 503);
  EXPECT_TRUE(body["description"].is_string());
  EXPECT_EQ(body["data"], json::array());
  EXPECT_EQ(body["source"], "PartnerFD");

  const std::optional<RecordedRequest> logged = Finished(0);
  ASSERT_TRUE(logged.has_value());
  EXPECT_EQ(logged->status, 503);
  EXPECT_THAT(logged->fault, Optional(FaultKind::kHttpStatus));
  EXPECT_THAT(logged->completed, Optional(true));
}

TEST_F(EmulatorTest, HttpStatusTakesAnErrorCodeDescriptionOrVerbatimBody) {
  ServeGeneratedWithFaults(10, 3, R"([
      {"page": 0, "fault": "http_status", "status": 400, "error_code": 3000,
       "description": "Customer does not have usage data"},
      {"page": 0, "fault": "http_status", "status": 502, "body": "Bad gateway"}])");
  httplib::Result coded = client_->Get(kPath, Authorized());
  ASSERT_TRUE(coded);
  EXPECT_EQ(coded->status, 400);
  EXPECT_FALSE(coded->has_header("Retry-After"));
  const json body = json::parse(coded->body);
  EXPECT_EQ(body["code"], 3000);
  EXPECT_EQ(body["description"], "Customer does not have usage data");

  httplib::Result verbatim = client_->Get(kPath, Authorized());
  ASSERT_TRUE(verbatim);
  EXPECT_EQ(verbatim->status, 502);
  EXPECT_EQ(verbatim->body, "Bad gateway");
}

TEST_F(EmulatorTest, ThrottleSendsTheRateLimitBodyWithOrWithoutRetryAfter) {
  ServeGeneratedWithFaults(10, 3, R"([
      {"page": 0, "fault": "throttle", "retry_after": "1"},
      {"page": 0, "fault": "throttle", "message_seconds": 7},
      {"page": 0, "fault": "throttle", "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}])");
  httplib::Result first = client_->Get(kPath, Authorized());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 429);
  EXPECT_EQ(first->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(first->body),
            json::parse(R"({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."})"));

  httplib::Result second = client_->Get(kPath, Authorized());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 429);
  EXPECT_FALSE(second->has_header("Retry-After"));
  EXPECT_EQ(json::parse(second->body)["message"], "Rate limit is exceeded. Try again in 7 seconds.");

  httplib::Result third = client_->Get(kPath, Authorized());
  ASSERT_TRUE(third);
  EXPECT_EQ(third->get_header_value("Retry-After"), "Wed, 21 Oct 2015 07:28:00 GMT");

  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 200);
}

TEST_F(EmulatorTest, TruncatedJsonIsACompleteResponseWithHalfThePage) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "fault": "truncated_json"}])");
  const std::string page = GeneratedDataset(10, 3).RenderPage(0);
  httplib::Result result = client_->Get(kPath, Authorized());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, page.substr(0, page.size() / 2));
  EXPECT_EQ(result->get_header_value("Content-Length"), std::to_string(page.size() / 2));
  EXPECT_FALSE(json::accept(result->body));
  const std::optional<RecordedRequest> logged = Finished(0);
  ASSERT_TRUE(logged.has_value());
  EXPECT_THAT(logged->completed, Optional(true));
}

TEST_F(EmulatorTest, InvalidJsonAndHtmlBodies) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "fault": "invalid_json"}, {"page": 0, "fault": "html"}])");
  httplib::Result invalid = client_->Get(kPath, Authorized());
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->status, 200);
  EXPECT_EQ(invalid->get_header_value("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(invalid->body, "<html><body>Service Unavailable</body></html>");

  httplib::Result html = client_->Get(kPath, Authorized());
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 200);
  EXPECT_EQ(html->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(html->body, HasSubstr("<html>"));
  EXPECT_FALSE(json::accept(html->body));
}

TEST_F(EmulatorTest, WrongTypesMakesTheFirstCostABoolean) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "fault": "wrong_types"}, {"page": 1, "fault": "wrong_types"}])");
  const GeneratedDataset dataset(10, 3);
  for (int page : {0, 1}) {
    httplib::Result result = client_->Get(kPath, ForPage(page));
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
    json expected = json::parse(dataset.RenderPage(page));
    expected["items"][0]["totalCost"] = true;
    EXPECT_EQ(json::parse(result->body), expected) << page;
  }

  ServeGenerated(0, 3);
  ASSERT_TRUE(emulator_->SetFaults(R"([{"page": 0, "fault": "wrong_types"}])").ok());
  httplib::Result empty = client_->Get(kPath, Authorized());
  ASSERT_TRUE(empty);
  EXPECT_EQ(json::parse(empty->body)["items"], json::parse(R"([{"totalCost": true}])"));
}

TEST_F(EmulatorTest, LoopNextLinksThePageToItself) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "fault": "loop_next"}, {"page": 1, "fault": "loop_next"},
                                      {"page": 3, "fault": "loop_next"}])");
  const GeneratedDataset dataset(10, 3);
  for (int page : {0, 1, 3}) {
    httplib::Result result = client_->Get(kPath, ForPage(page));
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
    const json body = json::parse(result->body);
    const json& next = body["links"]["next"];
    EXPECT_EQ(next["uri"], "/v1/customers/usagerecords?seekOperation=Next") << page;
    EXPECT_EQ(next["headers"], json::parse(absl::StrCat(R"([{"key": "MS-ContinuationToken", "value": ")",
                                                        GeneratedDataset::ContinuationToken(page), "\"}]")))
        << page;
    // Everything before the links, the records included, is sent byte for byte.
    const std::string normal = dataset.RenderPage(page);
    EXPECT_EQ(result->body.substr(0, result->body.find("\"links\"")), normal.substr(0, normal.find("\"links\"")));
  }

  // The token of page 0 names page 0, now served as usual.
  httplib::Result again = client_->Get(kPath, {{"Authorization", "Bearer emulator-token"},
                                               {"MS-ContinuationToken", GeneratedDataset::ContinuationToken(0)}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, dataset.RenderPage(0));
}

TEST_F(EmulatorTest, LoopNextInSeedModeAddsANextLink) {
  Serve({});
  ASSERT_TRUE(emulator_->SetFaults(R"([{"page": 0, "fault": "loop_next"}])").ok());
  httplib::Result result = client_->Get(kPath, Authorized());
  ASSERT_TRUE(result);
  const json body = json::parse(result->body);
  EXPECT_EQ(body["links"]["next"]["headers"][0]["value"], GeneratedDataset::ContinuationToken(0));
  EXPECT_EQ(body["links"]["self"], json::parse(SeedSampleResponse())["links"]["self"]);
  EXPECT_EQ(body["items"], json::parse(SeedSampleResponse())["items"]);
}

TEST_F(EmulatorTest, RulesForAPageAreUsedUpInOrder) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 1, "times": 2, "fault": "http_status", "status": 503}])");
  std::vector<int> statuses;
  for (int page : {0, 1, 1, 1, 0}) statuses.push_back(client_->Get(kPath, ForPage(page))->status);
  EXPECT_THAT(statuses, ElementsAre(200, 503, 503, 200, 200));

  std::vector<std::pair<std::optional<int>, std::optional<FaultKind>>> logged;
  for (const RecordedRequest& record : emulator_->requests()) logged.emplace_back(record.page, record.fault);
  EXPECT_THAT(logged, ElementsAre(Pair(0, std::nullopt), Pair(1, FaultKind::kHttpStatus),
                                  Pair(1, FaultKind::kHttpStatus), Pair(1, std::nullopt), Pair(0, std::nullopt)));
}

TEST_F(EmulatorTest, TimesMinusOneAnswersEveryRequest) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "times": -1, "fault": "http_status", "status": 500},
                                      {"page": 0, "fault": "throttle"}])");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client_->Get(kPath, Authorized())->status, 500);
  EXPECT_EQ(client_->Get(kPath, ForPage(1))->status, 200);
}

TEST_F(EmulatorTest, RequestsThatFailAuthenticationUseUpNoRule) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "fault": "throttle"}])");
  EXPECT_EQ(client_->Get(kPath)->status, 401);
  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 429);
  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 200);
}

TEST_F(EmulatorTest, FaultyResponsesEchoRequestIds) {
  ServeGenerated(10, 3);
  for (const char* fault : {R"("http_status", "status": 404)", R"("throttle")", R"("slow_first_byte", "delay_ms": 0)",
                            R"("stall_mid_body", "delay_ms": 0)", R"("truncated_json")", R"("invalid_json")",
                            R"("html")", R"("wrong_types")", R"("huge_body", "bytes": 10)", R"("loop_next")",
                            R"("slow_body", "chunk_ms": 1, "duration_ms": 0)"}) {
    ASSERT_TRUE(emulator_->SetFaults(absl::StrCat(R"([{"page": 0, "fault": )", fault, "}]")).ok()) << fault;
    httplib::Result result =
        client_->Get(kPath, Authorized({{"MS-RequestId", "req-1"}, {"MS-CorrelationId", "corr-1"}}));
    ASSERT_TRUE(result) << fault;
    EXPECT_EQ(result->get_header_value("MS-RequestId"), "req-1") << fault;
    EXPECT_EQ(result->get_header_value("MS-CorrelationId"), "corr-1") << fault;
  }
  for (const RecordedRequest& record : emulator_->requests()) EXPECT_TRUE(record.fault.has_value());
}

TEST_F(EmulatorTest, InvalidScriptsAreRejectedWithTheReason) {
  PartnerCenterEmulator emulator;
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not valid JSON"},
      {R"({"page": 0, "fault": "html"})", "must be a JSON array"},
      {"[1]", "rule 0: a rule must be a JSON object"},
      {R"([{"fault": "html"}])", R"(rule 0: "page" is required)"},
      {R"([{"page": -1, "fault": "html"}])", R"("page" must be an integer from 0)"},
      {R"([{"page": "1", "fault": "html"}])", R"("page" must be an integer)"},
      {R"([{"page": 0}])", R"("fault" is required)"},
      {R"([{"page": 0, "fault": "teapot"}])", R"(unknown fault "teapot"; the faults are http_status, throttle)"},
      {R"([{"page": 0, "fault": "slow_first_byte", "delay": 5}])",
       R"(unknown field "delay" for fault "slow_first_byte"; its fields are page, fault, times, delay_ms)"},
      {R"([{"page": 0, "fault": "html", "status": 500}])", R"(unknown field "status" for fault "html")"},
      {R"([{"page": 0, "fault": "slow_first_byte"}])", R"("delay_ms" is required)"},
      {R"([{"page": 0, "fault": "http_status"}])", R"("status" is required)"},
      {R"([{"page": 0, "fault": "http_status", "status": 700}])", R"("status" must be an integer from 200 to 599)"},
      {R"([{"page": 0, "fault": "throttle", "retry_after": 1}])", R"("retry_after" must be a string)"},
      {R"([{"page": 0, "fault": "throttle", "retry_after": "1\r\nX-Evil: 1"}])", "must not contain line breaks"},
      {R"([{"page": 0, "fault": "throttle", "times": 0}])", R"("times" must be -1 (every request) or at least 1)"},
      {R"([{"page": 0, "fault": "throttle", "times": -2}])", R"("times" must be an integer from -1)"},
      {R"([{"page": 0, "fault": "huge_body", "bytes": 1.5}])", R"("bytes" must be an integer)"},
      {R"([{"page": 0, "fault": "slow_body", "chunk_ms": 0}])", R"("chunk_ms" must be an integer from 1)"},
      {R"([{"page": 0, "fault": "html"}, {"page": 1, "fault": "nope"}])", R"(rule 1: unknown fault "nope")"},
      {R"([{"route": "tokens", "fault": "html"}])", R"("route" must be "usage" or "token", not "tokens")"},
      {R"([{"route": 1, "page": 0, "fault": "html"}])", R"("route" must be a string)"},
      {R"([{"route": "token", "page": 0, "fault": "html"}])", R"("page" is only for the usage route)"},
      {R"([{"route": "token", "fault": "throttle"}])",
       R"(fault "throttle" does not apply to the token route; its faults are http_status, slow_first_byte)"},
      {R"([{"route": "token", "fault": "slow_first_byte", "delay": 5}])",
       R"(its fields are fault, times, delay_ms, route)"},
      {R"([{"route": "usage", "fault": "html"}])", R"("page" is required)"},
  };
  for (const auto& [script, reason] : cases) {
    const absl::Status status = emulator.SetFaults(script);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << script;
    EXPECT_THAT(std::string(status.message()), HasSubstr(reason)) << script;
  }
  EXPECT_TRUE(emulator.SetFaults("[]").ok());
  EXPECT_TRUE(emulator
                  .SetFaults(R"([{"route": "usage", "page": 0, "fault": "html"},
                                     {"route": "token", "times": -1, "fault": "http_status", "status": 503}])")
                  .ok());
}

TEST_F(EmulatorTest, OptionsFaultsAreInForceFromStart) {
  EmulatorOptions options;
  options.faults = R"([{"page": 0, "fault": "throttle", "retry_after": "1"}])";
  Serve(options);
  httplib::Result result = client_->Get(kPath, Authorized());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 429);
  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 200);

  options.faults = R"([{"page": 0, "fault": "throttle", "retry_after": 1}])";
  PartnerCenterEmulator invalid(options);
  const absl::Status status = invalid.Start("127.0.0.1", 0);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("retry_after"));
}

}  // namespace
}  // namespace pcusage::emulator
