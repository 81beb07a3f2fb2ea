// The emulator as a whole: starting and stopping, dispatch to the routes, echoed request ids and the request log.

#include "tests/emulator/emulator_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
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

// The listening TCP sockets of this process, as "address port" with the address as /proc/net/tcp{,6} writes it.
std::vector<std::string> ListeningSockets() {
  std::set<std::string> inodes;
  if (DIR* fds = opendir("/proc/self/fd"); fds != nullptr) {
    while (const struct dirent* entry = readdir(fds)) {
      char target[256];
      const std::string path = absl::StrCat("/proc/self/fd/", entry->d_name);
      const ssize_t size = readlink(path.c_str(), target, sizeof target - 1);
      const std::string link(target, static_cast<std::size_t>(std::max<ssize_t>(size, 0)));
      if (absl::StartsWith(link, "socket:[")) inodes.insert(link.substr(8, link.size() - 9));
    }
    closedir(fds);
  }
  std::vector<std::string> sockets;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream file(table);
    std::string line;
    std::getline(file, line);  // the column names
    while (std::getline(file, line)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
      const std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() < 10 || fields[3] != "0A" || inodes.count(fields[9]) == 0) continue;
      const std::size_t colon = fields[1].rfind(':');
      int port = 0;
      EXPECT_TRUE(absl::SimpleHexAtoi(fields[1].substr(colon + 1), &port)) << line;
      sockets.push_back(absl::StrCat(fields[1].substr(0, colon), " ", port));
    }
  }
  return sockets;
}

// `numeric` (an IPv4 or IPv6 address) and `port` the way ListeningSockets writes them.
std::string ProcNetSocket(const std::string& numeric, int port) {
  std::string address;
  unsigned char bytes[16];
  if (inet_pton(AF_INET, numeric.c_str(), bytes) == 1) {
    uint32_t word;
    std::memcpy(&word, bytes, 4);
    address = absl::StrFormat("%08X", word);
  } else if (inet_pton(AF_INET6, numeric.c_str(), bytes) == 1) {
    for (int i = 0; i < 4; ++i) {
      uint32_t word;
      std::memcpy(&word, bytes + 4 * i, 4);
      absl::StrAppendFormat(&address, "%08X", word);
    }
  }
  return absl::StrCat(address, " ", port);
}

TEST(EmulatorBindTest, BindsExactlyOneSocketOnTheAddressItReports) {
  ASSERT_THAT(ListeningSockets(), ::testing::IsEmpty());
  for (const char* host : {"127.0.0.1", "localhost"}) {
    PartnerCenterEmulator emulator;
    ASSERT_TRUE(emulator.Start(host, 0).ok()) << host;
    EXPECT_THAT(emulator.host(), ::testing::AnyOf("127.0.0.1", "::1")) << host << ": a numeric address";
    EXPECT_THAT(ListeningSockets(), ElementsAre(ProcNetSocket(emulator.host(), emulator.port()))) << host;
    // And no second socket can join it (SO_REUSEPORT would let another process take its connections).
    const int family = absl::StrContains(emulator.host(), ':') ? AF_INET6 : AF_INET;
    const int other = socket(family, SOCK_STREAM, 0);
    ASSERT_GE(other, 0);
    int yes = 1;
    ASSERT_EQ(setsockopt(other, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes), 0);
    sockaddr_storage address{};
    socklen_t length = 0;
    if (family == AF_INET) {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
      v4->sin_family = AF_INET;
      v4->sin_port = htons(static_cast<uint16_t>(emulator.port()));
      inet_pton(AF_INET, emulator.host().c_str(), &v4->sin_addr);
      length = sizeof *v4;
    } else {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(static_cast<uint16_t>(emulator.port()));
      inet_pton(AF_INET6, emulator.host().c_str(), &v6->sin6_addr);
      length = sizeof *v6;
    }
    EXPECT_NE(bind(other, reinterpret_cast<const sockaddr*>(&address), length), 0) << host;
    EXPECT_EQ(errno, EADDRINUSE) << host;
    close(other);
    emulator.Stop();
  }
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
