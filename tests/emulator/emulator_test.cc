#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/dataset.h"
#include "tests/emulator/emulator_server.h"
#include "tests/emulator/seed_sample.h"
#include "tests/emulator/testing_tls.h"

namespace pcusage::emulator {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;
using ::testing::Pair;
using ::testing::StartsWith;

constexpr char kPath[] = "/v1/customers/usagerecords";
constexpr char kTokenPath[] = "/contoso.onmicrosoft.com/oauth2/token";
constexpr char kV2TokenPath[] = "/0b6e3f3c-5b7a-4d8e-9f10-1a2b3c4d5e6f/oauth2/v2.0/token";
constexpr char kRefreshToken[] = "initial-refresh-token-3f9a";
constexpr char kClientSecret[] = "client-secret-7c21";

// A v1 refresh-token grant for `refresh_token`, as pcusage's default public client sends it.
httplib::Params GrantForm(const std::string& refresh_token) {
  return {{"grant_type", "refresh_token"},
          {"client_id", "pcusage-test-client"},
          {"refresh_token", refresh_token},
          {"resource", "https://api.partnercenter.microsoft.com"}};
}

// The same for the v2.0 endpoint, which names the API by scope.
httplib::Params V2GrantForm(const std::string& refresh_token) {
  return {{"grant_type", "refresh_token"},
          {"client_id", "pcusage-test-client"},
          {"refresh_token", refresh_token},
          {"scope", "https://api.partnercenter.microsoft.com/user_impersonation"}};
}

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// A directory for the test's files, under the test's temporary directory.
std::string TestDirectory(absl::string_view name) {
  const char* root = std::getenv("TEST_TMPDIR");
  return absl::StrCat(root != nullptr ? root : "/tmp", "/", name);
}

httplib::Headers Authorized(httplib::Headers headers = {}) {
  headers.emplace("Authorization", "Bearer emulator-token");
  return headers;
}

// The headers of a request for `page` of a generated data set.
httplib::Headers ForPage(int page) {
  return page == 0 ? Authorized() : Authorized({{"MS-ContinuationToken", GeneratedDataset::ContinuationToken(page)}});
}

// A raw request for page 0 that asks the emulator to close the connection after answering.
constexpr char kRawRequest[] =
    "GET /v1/customers/usagerecords HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    "Authorization: Bearer emulator-token\r\nConnection: close\r\n\r\n";

// A plain TCP connection to the emulator, for what httplib's client hides: exactly which bytes arrive before the
// connection closes, and a client that hangs up mid-response.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    const timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~RawConnection() { Close(); }

  bool Send(absl::string_view data) {
    return connected_ && send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }

  // Reads until `marker` has arrived, the peer closes the connection or 5 s pass without data.
  std::string ReadUntil(absl::string_view marker) {
    while (!absl::StrContains(received_, marker) && ReadMore()) {
    }
    return received_;
  }
  // Reads until the peer closes the connection or 5 s pass without data.
  std::string ReadAll() {
    while (ReadMore()) {
    }
    return received_;
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  bool ReadMore() {
    char buffer[4096];
    const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    received_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  bool connected_ = false;
  std::string received_;
};

// `response` split at the blank line after its headers.
std::pair<std::string, std::string> SplitResponse(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  if (end == std::string::npos) return {response, ""};
  return {response.substr(0, end + 2), response.substr(end + 4)};
}

class EmulatorTest : public ::testing::Test {
 protected:
  void Serve(EmulatorOptions options) {
    emulator_ = std::make_unique<PartnerCenterEmulator>(options);
    ASSERT_TRUE(emulator_->Start("127.0.0.1", 0).ok());
    ASSERT_GT(emulator_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", emulator_->port());
  }

  void ServeGenerated(int customers, int page_size) {
    EmulatorOptions options;
    options.dataset = EmulatorOptions::Dataset::kGenerated;
    options.customers = customers;
    options.page_size = page_size;
    Serve(options);
  }

  void ServeGeneratedWithFaults(int customers, int page_size, absl::string_view script) {
    ServeGenerated(customers, page_size);
    ASSERT_TRUE(emulator_->SetFaults(script).ok()) << script;
  }

  // Serves the seed sample and a token endpoint that accepts kRefreshToken first.
  void ServeTokens(absl::Duration lifetime = absl::Hours(1), const std::string& client_secret = "") {
    EmulatorOptions options;
    options.refresh_token = kRefreshToken;
    options.token_lifetime = lifetime;
    options.client_secret = client_secret;
    Serve(options);
  }

  // POSTs `form` to the token endpoint `path`; the parsed body of the answer, expected to have `status`.
  json RequestToken(const char* path, const httplib::Params& form, int status) {
    httplib::Result result = client_->Post(path, form);
    if (!result) {
      ADD_FAILURE() << "no answer: " << httplib::to_string(result.error());
      return json();
    }
    EXPECT_EQ(result->status, status) << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json; charset=utf-8");
    EXPECT_EQ(result->get_header_value("Cache-Control"), "no-store");
    return json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  }

  // The usage route's status and error description for `token`.
  std::pair<int, std::string> UsageWith(const std::string& token) {
    httplib::Result result = client_->Get(kPath, Bearer(token));
    if (!result) return {0, httplib::to_string(result.error())};
    if (result->status == 200) return {200, ""};
    return {result->status, json::parse(result->body)["description"].get<std::string>()};
  }

  // Log entry `index` once its response has been sent or abandoned; unset when that takes over 2 s.
  std::optional<RecordedRequest> Finished(size_t index) {
    const absl::Time deadline = absl::Now() + absl::Seconds(2);
    do {
      const std::vector<RecordedRequest> log = emulator_->requests();
      if (log.size() > index && log[index].completed.has_value()) return log[index];
      absl::SleepFor(absl::Milliseconds(5));
    } while (absl::Now() < deadline);
    return std::nullopt;
  }

  std::unique_ptr<PartnerCenterEmulator> emulator_;
  std::unique_ptr<httplib::Client> client_;
};

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

TEST_F(EmulatorTest, SlowFirstByteDelaysThePage) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 1, "fault": "slow_first_byte", "delay_ms": 300}])");
  const absl::Time start = absl::Now();
  httplib::Result result = client_->Get(kPath, ForPage(1));
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, GeneratedDataset(10, 3).RenderPage(1));
  EXPECT_GE(took, absl::Milliseconds(250));
}

TEST_F(EmulatorTest, StallMidBodyPausesAfterHalfThePage) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "fault": "stall_mid_body", "delay_ms": 400}])");
  const std::string page = GeneratedDataset(10, 3).RenderPage(0);
  // Bytes received and when, for each piece of the body as it arrives.
  std::vector<std::pair<size_t, absl::Time>> arrivals;
  size_t received = 0;
  httplib::Result result = client_->Get(kPath, Authorized(), [&](const char*, size_t length) {
    received += length;
    arrivals.emplace_back(received, absl::Now());
    return true;
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Length"), std::to_string(page.size()));
  EXPECT_EQ(received, page.size());

  // The longest silence comes right after the first half.
  size_t before_gap = 0;
  absl::Duration gap;
  for (size_t i = 1; i < arrivals.size(); ++i) {
    if (arrivals[i].second - arrivals[i - 1].second > gap) {
      gap = arrivals[i].second - arrivals[i - 1].second;
      before_gap = arrivals[i - 1].first;
    }
  }
  EXPECT_EQ(before_gap, page.size() / 2);
  EXPECT_GE(gap, absl::Milliseconds(250));
}

TEST_F(EmulatorTest, ResetMidBodyClosesTheConnectionShortOfTheLength) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "times": 2, "fault": "reset_mid_body"}])");
  const std::string page = GeneratedDataset(10, 3).RenderPage(0);
  RawConnection connection(emulator_->port());
  ASSERT_TRUE(connection.Send(kRawRequest));
  const auto [head, body] = SplitResponse(connection.ReadAll());
  EXPECT_THAT(head, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, HasSubstr(absl::StrCat("Content-Length: ", page.size(), "\r\n")));
  EXPECT_EQ(body, page.substr(0, page.size() / 2));

  httplib::Result result = client_->Get(kPath, Authorized());
  EXPECT_FALSE(result);

  for (size_t i : {0, 1}) {
    const std::optional<RecordedRequest> logged = Finished(i);
    ASSERT_TRUE(logged.has_value());
    EXPECT_THAT(logged->fault, Optional(FaultKind::kResetMidBody));
    EXPECT_THAT(logged->completed, Optional(false));
  }
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

TEST_F(EmulatorTest, HugeBodyPadsThePage) {
  constexpr size_t kBytes = 2 << 20;
  ServeGeneratedWithFaults(10, 3, absl::StrCat(R"([{"page": 0, "fault": "huge_body", "bytes": )", kBytes, "}]"));
  httplib::Result result = client_->Get(kPath, Authorized());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_GT(result->body.size(), kBytes);
  EXPECT_EQ(result->get_header_value("Content-Length"), std::to_string(result->body.size()));
  json page = json::parse(result->body);
  EXPECT_EQ(page["padding"], std::string(kBytes, 'x'));
  page.erase("padding");
  EXPECT_EQ(page, json::parse(GeneratedDataset(10, 3).RenderPage(0)));
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

TEST_F(EmulatorTest, SlowBodyStreamsThePageInChunks) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "fault": "slow_body", "chunk_ms": 20, "duration_ms": 300}])");
  int pieces = 0;
  std::string body;
  const absl::Time start = absl::Now();
  httplib::Result result = client_->Get(kPath, Authorized(), [&](const char* data, size_t length) {
    ++pieces;
    body.append(data, length);
    return true;
  });
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Transfer-Encoding"), "chunked");
  EXPECT_EQ(body, GeneratedDataset(10, 3).RenderPage(0));
  EXPECT_GE(pieces, 5);
  EXPECT_GE(took, absl::Milliseconds(250));
  const std::optional<RecordedRequest> logged = Finished(0);
  ASSERT_TRUE(logged.has_value());
  EXPECT_THAT(logged->completed, Optional(true));
}

TEST_F(EmulatorTest, SlowBodyStopsWhenTheClientHangsUp) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "fault": "slow_body", "chunk_ms": 50}])");
  RawConnection connection(emulator_->port());
  ASSERT_TRUE(connection.Send(kRawRequest));
  EXPECT_THAT(connection.ReadUntil("\r\n\r\n"), HasSubstr("Transfer-Encoding: chunked"));
  std::vector<RecordedRequest> log = emulator_->requests();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].completed, std::nullopt);

  connection.Close();
  const absl::Time closed = absl::Now();
  const std::optional<RecordedRequest> logged = Finished(0);
  ASSERT_TRUE(logged.has_value()) << "the transfer went on after the client hung up";
  EXPECT_THAT(logged->completed, Optional(false));
  EXPECT_LT(absl::Now() - closed, absl::Seconds(2));
  EXPECT_EQ(json::parse(client_->Get("/emulator/requests")->body)[0]["completed"], false);
}

TEST_F(EmulatorTest, StopCutsSlowResponsesShort) {
  ServeGeneratedWithFaults(10, 3, R"([{"page": 0, "fault": "slow_body", "chunk_ms": 50},
                                      {"page": 1, "fault": "slow_first_byte", "delay_ms": 10000},
                                      {"page": 2, "fault": "stall_mid_body", "delay_ms": 10000}])");
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int page : {0, 1, 2}) {
    connections.push_back(std::make_unique<RawConnection>(emulator_->port()));
    ASSERT_TRUE(connections.back()->Send(absl::StrCat(
        "GET /v1/customers/usagerecords HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer emulator-token\r\n",
        page == 0 ? "" : absl::StrCat("MS-ContinuationToken: ", GeneratedDataset::ContinuationToken(page), "\r\n"),
        "\r\n")));
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while (emulator_->requests().size() < 3 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_EQ(emulator_->requests().size(), 3u);

  const absl::Time start = absl::Now();
  emulator_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
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

class EmulatorTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPki> pki = MakeTestPki(TestDirectory("pki"));
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
  }

  // An HTTPS client of `emulator` that trusts `ca`.
  static std::unique_ptr<httplib::SSLClient> ClientTrusting(const PartnerCenterEmulator& emulator,
                                                            const CertificateFiles& ca) {
    auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", emulator.port());
    client->set_ca_cert_path(ca.cert_file.c_str());
    client->enable_server_certificate_verification(true);
    return client;
  }

  TestPki pki_;
};

TEST_F(EmulatorTlsTest, ServesHttpsToClientsThatTrustTheCa) {
  EmulatorOptions options;
  options.tls_cert_file = pki_.server.cert_file;
  options.tls_key_file = pki_.server.key_file;
  options.refresh_token = kRefreshToken;
  PartnerCenterEmulator emulator(options);
  ASSERT_TRUE(emulator.Start("127.0.0.1", 0).ok());

  std::unique_ptr<httplib::SSLClient> client = ClientTrusting(emulator, pki_.ca);
  httplib::Result page = client->Get(kPath, Authorized());
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, SeedSampleResponse());
  httplib::Result token = client->Post(kTokenPath, GrantForm(kRefreshToken));
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 200);

  httplib::Result untrusted = ClientTrusting(emulator, pki_.other_ca)->Get("/healthz");
  EXPECT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error(), httplib::Error::SSLServerVerification);
  // Plain HTTP gets no answer from an HTTPS port, and the emulator serves on.
  httplib::Client plain("127.0.0.1", emulator.port());
  plain.set_read_timeout(2, 0);
  httplib::Result plain_result = plain.Get("/healthz");
  EXPECT_FALSE(plain_result && plain_result->status == 200);
  EXPECT_EQ(client->Get("/healthz")->status, 200);
}

TEST_F(EmulatorTlsTest, IncompleteOrUnusableTlsFilesAreRejected) {
  const std::pair<std::string, std::string> cases[] = {
      {pki_.server.cert_file, ""},
      {"", pki_.server.key_file},
      {TestDirectory("missing.pem"), pki_.server.key_file},
      {pki_.server.cert_file, pki_.client.key_file},
      {pki_.server.key_file, pki_.server.cert_file},
  };
  for (const auto& [cert_file, key_file] : cases) {
    EmulatorOptions options;
    options.tls_cert_file = cert_file;
    options.tls_key_file = key_file;
    PartnerCenterEmulator emulator(options);
    EXPECT_EQ(emulator.Start("127.0.0.1", 0).code(), absl::StatusCode::kInvalidArgument)
        << cert_file << " " << key_file;
  }
}

}  // namespace
}  // namespace pcusage::emulator
