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
#include "absl/strings/numbers.h"
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
    while (received_.find(marker) == std::string::npos && ReadMore()) {
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
  EXPECT_EQ(result->get_header_value("Content-Type"),
            "application/json; charset=utf-8");
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
       {"Bearer other-token", "Basic emulator-token", "emulator-token",
        "Bearer emulator-token2"}) {
    httplib::Result result =
        client_->Get(kPath, {{"Authorization", authorization}});
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 401) << authorization;
  }
}

TEST_F(EmulatorTest, AcceptsTheConfiguredToken) {
  EmulatorOptions options;
  options.access_token = "another-token";
  Serve(options);
  EXPECT_EQ(client_->Get(kPath, Authorized())->status, 401);
  EXPECT_EQ(
      client_->Get(kPath, {{"Authorization", "bearer another-token"}})->status,
      200);
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
  httplib::Result result = client_->Get(
      kPath, Authorized({{"MS-ContinuationToken", "not-a-token"}}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  const json body = json::parse(result->body);
  EXPECT_TRUE(body["code"].is_number());
  EXPECT_EQ(body["source"], "PartnerFD");
}

TEST_F(EmulatorTest, EchoesRequestIds) {
  Serve({});
  httplib::Result result = client_->Get(
      kPath,
      Authorized({{"MS-RequestId", "req-1"}, {"MS-CorrelationId", "corr-1"}}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->get_header_value("MS-RequestId"), "req-1");
  EXPECT_EQ(result->get_header_value("MS-CorrelationId"), "corr-1");

  httplib::Result unauthorized =
      client_->Get(kPath, {{"MS-RequestId", "req-2"}});
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
  EXPECT_EQ(unauthorized->get_header_value("MS-RequestId"), "req-2");
  EXPECT_FALSE(unauthorized->has_header("MS-CorrelationId"));
}

TEST_F(EmulatorTest, LogsRequestsWithLowercasedHeaders) {
  Serve({});
  ASSERT_TRUE(client_->Get(
      "/v1/customers/usagerecords?size=5&x=%20y",
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
  EXPECT_EQ(json::parse(client_->Get("/emulator/requests")->body),
            json::array());
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
  EXPECT_THAT(
      logged,
      ElementsAre(Pair("GET /healthz", 200), Pair("GET /v1/customers", 404),
                  Pair("POST /v1/customers/usagerecords", 404)));
}

TEST_F(EmulatorTest, InvalidOptionsAreRejected) {
  EmulatorOptions options;
  options.dataset = EmulatorOptions::Dataset::kGenerated;
  options.page_size = 0;
  PartnerCenterEmulator emulator(options);
  EXPECT_EQ(emulator.Start("127.0.0.1", 0).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EmulatorTest, BusyPortIsUnavailable) {
  Serve({});
  PartnerCenterEmulator second;
  EXPECT_EQ(second.Start("127.0.0.1", emulator_->port()).code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(EmulatorTest, StartTwiceFailsAndStopIsIdempotent) {
  Serve({});
  EXPECT_EQ(emulator_->Start("127.0.0.1", 0).code(),
            absl::StatusCode::kFailedPrecondition);
  emulator_->Stop();
  emulator_->Stop();
  EXPECT_FALSE(client_->Get("/healthz"));
}

}  // namespace
}  // namespace pcusage::emulator
