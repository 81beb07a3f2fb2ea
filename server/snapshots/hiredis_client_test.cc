// The hiredis client against a real redis-server (Debian's) on a free loopback port.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/snapshots/redis_client.h"
#include "tests/testing/redis_server.h"

namespace pcusage::snapshots {
namespace {

using ::pcusage::testing::RedisServer;

TEST(ParseRedisUrlTest, HostPortAndDatabase) {
  absl::StatusOr<RedisAddress> address = ParseRedisUrl("redis://10.0.0.5:6380/3");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(address->host, "10.0.0.5");
  EXPECT_EQ(address->port, 6380);
  EXPECT_EQ(address->db, 3);
  address = ParseRedisUrl("redis://cache.internal:6379");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(address->db, 0);
  for (const char* bad : {"rediss://cache:6380", "http://cache:6379", "redis://cache", "redis://cache:0",
                          "redis://cache:6379/x", "redis://:6379"}) {
    EXPECT_EQ(ParseRedisUrl(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

class HiredisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    HiredisOptions options;
    options.address = *ParseRedisUrl(server_->url());
    options.max_connections = 2;
    client_ = NewHiredisClient(options);
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(HiredisClientTest, CommandsAndLockScripts) {
  EXPECT_EQ(*client_->Get("missing"), std::nullopt);
  const std::string binary("a\0b\r\nc", 6);
  EXPECT_TRUE(*client_->SetIfAbsent("lock", binary, absl::Seconds(10)));
  EXPECT_FALSE(*client_->SetIfAbsent("lock", "other", absl::Seconds(10)));
  EXPECT_EQ(*client_->Get("lock"), binary);
  EXPECT_EQ(*client_->Increment("fence"), 1);
  EXPECT_EQ(*client_->Increment("fence"), 2);
  EXPECT_FALSE(*client_->ExpireIfHolds("lock", "other", absl::Seconds(20)));
  EXPECT_TRUE(*client_->ExpireIfHolds("lock", binary, absl::Seconds(20)));
  EXPECT_FALSE(*client_->SetAndReleaseIfHolds("lock", "other", "snapshot", "pages", absl::Seconds(5)));
  EXPECT_EQ(*client_->Get("snapshot"), std::nullopt);
  EXPECT_TRUE(*client_->SetAndReleaseIfHolds("lock", binary, "snapshot", "pages", absl::Seconds(5)));
  EXPECT_EQ(*client_->Get("snapshot"), "pages");
  EXPECT_EQ(*client_->GetPrefix("snapshot", 3), "pag");
  EXPECT_EQ(*client_->GetPrefix("snapshot", 100), "pages");
  EXPECT_EQ(*client_->GetPrefix("missing", 3), std::nullopt);
  EXPECT_EQ(*client_->Get("lock"), std::nullopt);
  EXPECT_TRUE(*client_->SetIfAbsent("lock", "mine", absl::Milliseconds(50)));
  EXPECT_FALSE(*client_->DeleteIfHolds("lock", "theirs"));
  EXPECT_TRUE(*client_->DeleteIfHolds("lock", "mine"));
  EXPECT_TRUE(*client_->SetIfAbsent("short", "x", absl::Milliseconds(50)));
  absl::SleepFor(absl::Milliseconds(150));
  EXPECT_EQ(*client_->Get("short"), std::nullopt);
}

TEST_F(HiredisClientTest, StreamsAppendReadWaitAndExpire) {
  absl::StatusOr<std::vector<StreamEntry>> entries = client_->StreamRead("live", "0", absl::ZeroDuration(), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());  // no such key
  const std::string binary(
      "p\0a\r\ng\xff"
      "e",
      8);
  for (const std::string& value : {binary, std::string("two"), std::string("three")}) {
    ASSERT_TRUE(client_->StreamAppend("live", value, absl::Seconds(10)).ok());
  }
  entries = client_->StreamRead("live", "0", absl::ZeroDuration(), 2);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2U);
  EXPECT_EQ((*entries)[0].value, binary);
  EXPECT_EQ((*entries)[1].value, "two");
  entries = client_->StreamRead("live", (*entries)[1].id, absl::Milliseconds(100), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1U);
  EXPECT_EQ((*entries)[0].value, "three");
  const std::string last = (*entries)[0].id;

  // Nothing new: a read waits about `block`, then is empty.
  absl::Time start = absl::Now();
  entries = client_->StreamRead("live", last, absl::Milliseconds(200), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));
  // A waiting read returns with an entry appended meanwhile (on the other connection).
  std::thread appender([this] {
    absl::SleepFor(absl::Milliseconds(100));
    EXPECT_TRUE(client_->StreamAppend("live", "four", absl::Seconds(10)).ok());
  });
  start = absl::Now();
  entries = client_->StreamRead("live", last, absl::Milliseconds(400), 4);
  appender.join();
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1U);
  EXPECT_EQ((*entries)[0].value, "four");
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(400));

  // A `block` past the command timeout (1 s) is cut short rather than timing out.
  start = absl::Now();
  entries = client_->StreamRead("live", (*entries)[0].id, absl::Seconds(5), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));

  // The stream lives `ttl` after its last append.
  ASSERT_TRUE(client_->StreamAppend("live", "five", absl::Milliseconds(50)).ok());
  absl::SleepFor(absl::Milliseconds(150));
  entries = client_->StreamRead("live", "0", absl::ZeroDuration(), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());
}

TEST_F(HiredisClientTest, RedisGoneIsAnErrorAtOnceAndComingBackIsServedAgain) {
  ASSERT_TRUE(client_->SetIfAbsent("k", "v", absl::Seconds(30)).ok());
  server_->Stop();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::optional<std::string>> value = client_->Get("k");
  EXPECT_FALSE(value.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_TRUE(server_->Restart().ok());
  value = client_->Get("k");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, std::nullopt);  // nothing persisted
}

TEST(HiredisClientTimeoutTest, NothingListeningIsUnavailable) {
  HiredisOptions options;
  options.address = *ParseRedisUrl("redis://127.0.0.1:1");
  std::unique_ptr<RedisClient> client = NewHiredisClient(options);
  EXPECT_FALSE(client->Get("k").ok());
  EXPECT_FALSE(client->SetIfAbsent("k", "v", absl::Seconds(1)).ok());
}

}  // namespace
}  // namespace pcusage::snapshots
