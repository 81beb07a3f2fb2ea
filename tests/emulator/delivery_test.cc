// Delivery: the faults that change how a page is sent, seen on the wire, and stopping in the middle of them.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/dataset.h"
#include "tests/emulator/emulator_fixture.h"
#include "tests/emulator/emulator_server.h"
#include "tests/emulator/fault_script.h"
#include "tests/emulator/raw_connection.h"

namespace pcusage::emulator {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Optional;

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

}  // namespace
}  // namespace pcusage::emulator
