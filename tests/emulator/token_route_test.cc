// The token route: the refresh-token grant on the v1 and v2.0 endpoints, rotation, issued-token expiry,
// its faults, and what the request log keeps of it.

#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/emulator_fixture.h"
#include "tests/emulator/emulator_server.h"
#include "tests/emulator/fault_script.h"

namespace pcusage::emulator {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

TEST_F(EmulatorTest, V1TokenEndpointIssuesATokenTheUsageRouteAccepts) {
  ServeTokens();
  const json token = RequestToken(kTokenPath, GrantForm(kRefreshToken), 200);
  EXPECT_EQ(token["token_type"], "Bearer");
  // v1 sends its numbers as strings.
  EXPECT_EQ(token["expires_in"], "3600");
  EXPECT_EQ(token["resource"], "https://api.partnercenter.microsoft.com");
  ASSERT_TRUE(token["access_token"].is_string());
  ASSERT_TRUE(token["refresh_token"].is_string());
  const std::string access_token = token["access_token"];
  const std::string refresh_token = token["refresh_token"];
  EXPECT_FALSE(access_token.empty());
  EXPECT_NE(refresh_token, kRefreshToken);
  EXPECT_NE(refresh_token, access_token);
  EXPECT_THAT(token.dump(), Not(HasSubstr(kRefreshToken)));

  EXPECT_EQ(UsageWith(access_token), std::make_pair(200, std::string()));
  const TokenCounters counters = emulator_->tokens();
  EXPECT_EQ(counters.token_requests, 1);
  EXPECT_EQ(counters.issued, 1);
  EXPECT_EQ(counters.refresh_token_rotations, 1);
  EXPECT_EQ(counters.current_refresh_token, refresh_token);
  EXPECT_EQ(json::parse(client_->Get("/emulator/tokens")->body), json({{"token_requests", 1},
                                                                       {"issued", 1},
                                                                       {"refresh_token_rotations", 1},
                                                                       {"current_refresh_token", refresh_token}}));
}

TEST_F(EmulatorTest, V2TokenEndpointSendsNumbersAndRejectsResource) {
  ServeTokens(absl::Minutes(5));
  const json token = RequestToken(kV2TokenPath, V2GrantForm(kRefreshToken), 200);
  EXPECT_EQ(token["token_type"], "Bearer");
  EXPECT_EQ(token["expires_in"], 300);
  EXPECT_EQ(token["scope"], "https://api.partnercenter.microsoft.com/user_impersonation");
  EXPECT_EQ(UsageWith(token["access_token"]).first, 200);

  httplib::Params with_resource = V2GrantForm(token["refresh_token"]);
  with_resource.emplace("resource", "https://api.partnercenter.microsoft.com");
  const json rejected = RequestToken(kV2TokenPath, with_resource, 400);
  EXPECT_EQ(rejected["error"], "invalid_request");
  EXPECT_EQ(rejected["error_codes"], json::array({901002}));
}

TEST_F(EmulatorTest, RefreshTokensRotateAndOnlyTheNewestWorks) {
  ServeTokens();
  const json first = RequestToken(kTokenPath, GrantForm(kRefreshToken), 200);

  const json reused = RequestToken(kTokenPath, GrantForm(kRefreshToken), 400);
  EXPECT_EQ(reused["error"], "invalid_grant");
  EXPECT_EQ(reused["error_codes"], json::array({70008}));
  const std::string description = reused["error_description"];
  EXPECT_THAT(description, StartsWith("AADSTS70008: The provided authorization code or refresh token has expired"));
  EXPECT_THAT(description, HasSubstr("\r\nTrace ID: "));
  EXPECT_THAT(description, HasSubstr("\r\nCorrelation ID: "));
  EXPECT_THAT(reused.dump(), Not(HasSubstr(kRefreshToken)));

  const json second = RequestToken(kV2TokenPath, V2GrantForm(first["refresh_token"]), 200);
  EXPECT_NE(second["refresh_token"], first["refresh_token"]);
  EXPECT_NE(second["access_token"], first["access_token"]);
  EXPECT_EQ(RequestToken(kTokenPath, GrantForm(first["refresh_token"]), 400)["error"], "invalid_grant");
  EXPECT_EQ(RequestToken(kTokenPath, GrantForm("never-issued"), 400)["error"], "invalid_grant");
  // Access tokens outlive the refresh token that got them.
  EXPECT_EQ(UsageWith(first["access_token"]).first, 200);
  EXPECT_EQ(UsageWith(second["access_token"]).first, 200);

  const TokenCounters counters = emulator_->tokens();
  EXPECT_EQ(counters.token_requests, 5);
  EXPECT_EQ(counters.issued, 2);
  EXPECT_EQ(counters.refresh_token_rotations, 2);
  EXPECT_EQ(counters.current_refresh_token, second["refresh_token"]);
}

TEST_F(EmulatorTest, OfRacingRequestsWithOneRefreshTokenOnlyOneSucceeds) {
  ServeTokens();
  constexpr int kRequests = 8;
  std::vector<int> statuses(kRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([this, &statuses, i] {
      httplib::Client client("127.0.0.1", emulator_->port());
      httplib::Result result = client.Post(kTokenPath, GrantForm(kRefreshToken));
      statuses[i] = result ? result->status : 0;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 400), kRequests - 1);
  EXPECT_EQ(emulator_->tokens().issued, 1);
}

TEST_F(EmulatorTest, WrongClientsAreInvalidClient) {
  ServeTokens();
  httplib::Params other_client = GrantForm(kRefreshToken);
  other_client.find("client_id")->second = "someone-else";
  json answer = RequestToken(kTokenPath, other_client, 401);
  EXPECT_EQ(answer["error"], "invalid_client");
  EXPECT_EQ(answer["error_codes"], json::array({700016}));
  EXPECT_THAT(answer.dump(), Not(HasSubstr("someone-else")));

  // A public client must not present a secret.
  httplib::Params with_secret = GrantForm(kRefreshToken);
  with_secret.emplace("client_secret", kClientSecret);
  answer = RequestToken(kTokenPath, with_secret, 401);
  EXPECT_EQ(answer["error"], "invalid_client");
  EXPECT_EQ(answer["error_codes"], json::array({700025}));
  EXPECT_EQ(emulator_->tokens().current_refresh_token, kRefreshToken);
}

TEST_F(EmulatorTest, AConfidentialClientMustPresentItsSecret) {
  ServeTokens(absl::Hours(1), kClientSecret);
  json answer = RequestToken(kTokenPath, GrantForm(kRefreshToken), 401);
  EXPECT_EQ(answer["error"], "invalid_client");
  EXPECT_EQ(answer["error_codes"], json::array({7000218}));

  httplib::Params wrong_secret = GrantForm(kRefreshToken);
  wrong_secret.emplace("client_secret", "not-the-secret");
  answer = RequestToken(kTokenPath, wrong_secret, 401);
  EXPECT_EQ(answer["error"], "invalid_client");
  EXPECT_EQ(answer["error_codes"], json::array({7000215}));
  EXPECT_THAT(answer.dump(), Not(HasSubstr("not-the-secret")));

  httplib::Params right_secret = GrantForm(kRefreshToken);
  right_secret.emplace("client_secret", kClientSecret);
  answer = RequestToken(kTokenPath, right_secret, 200);
  EXPECT_EQ(answer["token_type"], "Bearer");
  EXPECT_THAT(answer.dump(), Not(HasSubstr(kClientSecret)));
}

TEST_F(EmulatorTest, MalformedTokenRequestsAreInvalidRequest) {
  ServeTokens();
  for (const char* field : {"grant_type", "client_id", "refresh_token", "resource"}) {
    httplib::Params form = GrantForm(kRefreshToken);
    form.erase(field);
    const json answer = RequestToken(kTokenPath, form, 400);
    EXPECT_EQ(answer["error"], "invalid_request") << field;
    EXPECT_EQ(answer["error_codes"], json::array({900144})) << field;
    EXPECT_THAT(answer["error_description"].get<std::string>(),
                HasSubstr(absl::StrCat("must contain the following parameter: '", field, "'")));
  }
  httplib::Params v2_without_scope = V2GrantForm(kRefreshToken);
  v2_without_scope.erase("scope");
  EXPECT_EQ(RequestToken(kV2TokenPath, v2_without_scope, 400)["error"], "invalid_request");
  httplib::Params empty_token = GrantForm("");
  EXPECT_EQ(RequestToken(kTokenPath, empty_token, 400)["error"], "invalid_request");

  httplib::Params password_grant = GrantForm(kRefreshToken);
  password_grant.find("grant_type")->second = "password";
  const json unsupported = RequestToken(kTokenPath, password_grant, 400);
  EXPECT_EQ(unsupported["error"], "invalid_request");
  EXPECT_EQ(unsupported["error_codes"], json::array({70003}));

  // Parameters must come as a form body: JSON bodies and query strings are refused.
  httplib::Result as_json = client_->Post(
      kTokenPath, json({{"grant_type", "refresh_token"}, {"refresh_token", kRefreshToken}}).dump(), "application/json");
  ASSERT_TRUE(as_json);
  EXPECT_EQ(as_json->status, 400);
  EXPECT_EQ(json::parse(as_json->body)["error"], "invalid_request");
  const std::string in_query = absl::StrCat(kTokenPath, "?refresh_token=", kRefreshToken);
  const json refused = RequestToken(in_query.c_str(), GrantForm(kRefreshToken), 400);
  EXPECT_EQ(refused["error"], "invalid_request");
  EXPECT_THAT(refused.dump(), Not(HasSubstr(kRefreshToken)));

  // None of them used up the refresh token.
  EXPECT_EQ(RequestToken(kTokenPath, GrantForm(kRefreshToken), 200)["token_type"], "Bearer");
}

TEST_F(EmulatorTest, TheTokenEndpointNeedsARefreshTokenAndPost) {
  Serve({});
  EXPECT_EQ(client_->Post(kTokenPath, GrantForm(kRefreshToken))->status, 404);
  EXPECT_EQ(client_->Post(kV2TokenPath, GrantForm(kRefreshToken))->status, 404);
  EXPECT_EQ(emulator_->tokens().token_requests, 0);

  ServeTokens();
  EXPECT_EQ(client_->Get(kTokenPath)->status, 404);
  EXPECT_EQ(client_->Post("/oauth2/token", GrantForm(kRefreshToken))->status, 404);
  EXPECT_EQ(client_->Post("/common/oauth2/v3/token", GrantForm(kRefreshToken))->status, 404);
  // A tenant named "emulator" is a tenant, not a control route.
  EXPECT_EQ(client_->Post("/emulator/oauth2/token", GrantForm(kRefreshToken))->status, 200);
}

TEST_F(EmulatorTest, IssuedAccessTokensExpire) {
  ServeTokens(absl::Seconds(1));
  const absl::Time before = absl::Now();
  const json token = RequestToken(kTokenPath, GrantForm(kRefreshToken), 200);
  EXPECT_EQ(token["expires_in"], "1");
  const std::string access_token = token["access_token"];
  EXPECT_EQ(UsageWith(access_token).first, 200);

  std::pair<int, std::string> usage;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(50));
    usage = UsageWith(access_token);
  } while (usage.first == 200 && absl::Now() < deadline);
  EXPECT_EQ(usage, std::make_pair(401, std::string("The access token has expired")));
  EXPECT_GE(absl::Now() - before, absl::Seconds(1));

  const std::pair<int, std::string> unknown = UsageWith("never-issued");
  EXPECT_EQ(unknown.first, 401);
  EXPECT_NE(unknown.second, usage.second);
  // The static token never expires, and a refreshed token works again.
  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 200);
  EXPECT_EQ(UsageWith(RequestToken(kTokenPath, GrantForm(token["refresh_token"]), 200)["access_token"]).first, 200);
}

TEST_F(EmulatorTest, TokenRouteFaultsAnswerInsteadOfTheEndpoint) {
  ServeTokens();
  ASSERT_TRUE(emulator_
                  ->SetFaults(R"([{"route": "token", "fault": "http_status", "status": 503, "retry_after": "1"},
                                       {"route": "token", "fault": "invalid_json"},
                                       {"page": 0, "fault": "http_status", "status": 500}])")
                  .ok());
  httplib::Result unavailable = client_->Post(kTokenPath, GrantForm(kRefreshToken));
  ASSERT_TRUE(unavailable);
  EXPECT_EQ(unavailable->status, 503);
  EXPECT_EQ(unavailable->get_header_value("Retry-After"), "1");
  const json body = json::parse(unavailable->body);
  EXPECT_EQ(body["error"], "temporarily_unavailable");
  EXPECT_EQ(body["error_codes"], json::array({503}));
  EXPECT_THAT(body["error_description"].get<std::string>(), StartsWith("AADSTS503: The emulator injected HTTP 503."));

  httplib::Result invalid = client_->Post(kTokenPath, GrantForm(kRefreshToken));
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->status, 200);
  EXPECT_FALSE(json::accept(invalid->body));

  // Neither used up the refresh token, nor the usage route's rule.
  const json token = RequestToken(kTokenPath, GrantForm(kRefreshToken), 200);
  EXPECT_EQ(UsageWith(token["access_token"]).first, 500);

  std::vector<std::pair<int, std::optional<FaultKind>>> logged;
  for (const RecordedRequest& record : emulator_->requests()) logged.emplace_back(record.status, record.fault);
  EXPECT_THAT(logged, ElementsAre(Pair(503, FaultKind::kHttpStatus), Pair(200, FaultKind::kInvalidJson),
                                  Pair(200, std::nullopt), Pair(500, FaultKind::kHttpStatus)));
  EXPECT_EQ(emulator_->tokens().token_requests, 3);
}

TEST_F(EmulatorTest, TokenRouteFaultsThatSpoilTheAnswerStillRotate) {
  ServeTokens();
  ASSERT_TRUE(emulator_
                  ->SetFaults(R"([{"route": "token", "fault": "slow_first_byte", "delay_ms": 300},
                                       {"route": "token", "fault": "truncated_json"}])")
                  .ok());
  const absl::Time start = absl::Now();
  const json slow = RequestToken(kTokenPath, GrantForm(kRefreshToken), 200);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  EXPECT_EQ(slow["token_type"], "Bearer");

  httplib::Result truncated = client_->Post(kTokenPath, GrantForm(slow["refresh_token"]));
  ASSERT_TRUE(truncated);
  EXPECT_EQ(truncated->status, 200);
  EXPECT_FALSE(json::accept(truncated->body));
  // The client never read the new refresh token, and the old one is used up.
  EXPECT_EQ(RequestToken(kTokenPath, GrantForm(slow["refresh_token"]), 400)["error"], "invalid_grant");
  EXPECT_EQ(emulator_->tokens().issued, 2);
}

TEST_F(EmulatorTest, TheRequestLogKeepsNoTokenRequestSecrets) {
  ServeTokens(absl::Hours(1), kClientSecret);
  httplib::Params form = GrantForm(kRefreshToken);
  form.emplace("client_secret", kClientSecret);
  httplib::Result granted = client_->Post(kTokenPath, {{"MS-RequestId", "req-1"}}, form);
  ASSERT_TRUE(granted);
  ASSERT_EQ(granted->status, 200);
  const json token = json::parse(granted->body);
  // Secrets in places they do not belong: an Authorization header and the query string.
  const std::string in_query = absl::StrCat(kV2TokenPath, "?refresh_token=", std::string(token["refresh_token"]));
  ASSERT_TRUE(client_->Post(in_query.c_str(), {{"Authorization", absl::StrCat("Basic ", kClientSecret)}},
                            V2GrantForm(token["refresh_token"])));

  const std::string log = client_->Get("/emulator/requests")->body;
  for (const std::string& secret : {std::string(kRefreshToken), std::string(kClientSecret),
                                    std::string(token["refresh_token"]), std::string(token["access_token"])}) {
    EXPECT_THAT(log, Not(HasSubstr(secret)));
  }
  const json entries = json::parse(log);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]["method"], "POST");
  EXPECT_EQ(entries[0]["path"], kTokenPath);
  EXPECT_EQ(entries[0]["status"], 200);
  EXPECT_EQ(entries[0]["query"], "");
  EXPECT_EQ(entries[0]["headers"]["ms-requestid"], "req-1");
  EXPECT_EQ(entries[0]["headers"]["content-type"], "application/x-www-form-urlencoded");
  EXPECT_EQ(entries[0]["page"], nullptr);
  EXPECT_EQ(entries[1]["status"], 400);
  EXPECT_EQ(entries[1]["query"], "[redacted]");
  EXPECT_EQ(entries[1]["headers"]["authorization"], "[redacted]");
}

TEST_F(EmulatorTest, InvalidTokenOptionsAreRejected) {
  EmulatorOptions options;
  options.refresh_token = kRefreshToken;
  options.token_lifetime = absl::Milliseconds(999);
  EXPECT_EQ(PartnerCenterEmulator(options).Start("127.0.0.1", 0).code(), absl::StatusCode::kInvalidArgument);
  options.token_lifetime = absl::Seconds(1);
  options.client_id = "";
  EXPECT_EQ(PartnerCenterEmulator(options).Start("127.0.0.1", 0).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pcusage::emulator
