#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
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

namespace pcusage::emulator {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::Pair;

constexpr char kPath[] = "/v1/customers/usagerecords";

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
  };
  for (const auto& [script, reason] : cases) {
    const absl::Status status = emulator.SetFaults(script);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << script;
    EXPECT_THAT(std::string(status.message()), HasSubstr(reason)) << script;
  }
  EXPECT_TRUE(emulator.SetFaults("[]").ok());
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
