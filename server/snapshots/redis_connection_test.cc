// RedisConnection's name resolution: an IP literal never reaches the resolver, and a resolver that does not answer
// is given up on within connect_timeout, with a bound on the resolutions left running.
#include "server/snapshots/redis_connection.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testing/loopback.h"

namespace pcusage::snapshots {
namespace {

// A listening loopback socket: connects to it complete (the kernel's backlog) without anyone accepting.
class Listener {
 public:
  Listener() {
    int port = 0;
    fd_ = testing::BindLoopback(&port, /*backlog=*/16);
    EXPECT_GE(fd_, 0);
    address_.sin_family = AF_INET;
    address_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address_.sin_port = htons(static_cast<uint16_t>(port));
  }
  ~Listener() { close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int port() const { return ntohs(address_.sin_port); }
  ResolvedAddress resolved() const {
    return {AF_INET, IPPROTO_TCP, std::string(reinterpret_cast<const char*>(&address_), sizeof(address_))};
  }

 private:
  int fd_ = -1;
  sockaddr_in address_{};
};

TEST(RedisConnectionResolveTest, AnIpLiteralNeverReachesTheResolverAndANameDoes) {
  Listener listener;
  auto calls = std::make_shared<std::atomic<int>>(0);
  RedisConnectionOptions options;
  options.port = listener.port();
  options.resolver = [calls, resolved = listener.resolved()](
                         const std::string& /*host*/, int /*port*/) -> absl::StatusOr<std::vector<ResolvedAddress>> {
    ++*calls;
    return std::vector<ResolvedAddress>{resolved};
  };
  options.host = "127.0.0.1";
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection = RedisConnection::Open(options);
  EXPECT_TRUE(connection.ok()) << connection.status();
  EXPECT_EQ(calls->load(), 0);
  options.host = "redis.invalid";
  connection = RedisConnection::Open(options);
  EXPECT_TRUE(connection.ok()) << connection.status();
  EXPECT_EQ(calls->load(), 1);
}

TEST(RedisConnectionResolveTest, AStuckResolverIsGivenUpOnWithinTheConnectTimeoutAndBounded) {
  ASSERT_EQ(PendingResolutions(), 0);
  auto release = std::make_shared<absl::Notification>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  RedisConnectionOptions options;
  options.host = "redis.invalid";
  options.connect_timeout = absl::Milliseconds(200);
  options.resolver = [release, calls](const std::string& /*host*/,
                                      int /*port*/) -> absl::StatusOr<std::vector<ResolvedAddress>> {
    ++*calls;
    release->WaitForNotification();
    return absl::UnavailableError("released");
  };
  for (int i = 0; i < kMaxPendingResolutions; ++i) {
    const absl::Time start = absl::Now();
    const absl::Status status = RedisConnection::Open(options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "name resolution took longer than 200ms")) << status;
    EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  }
  EXPECT_EQ(PendingResolutions(), kMaxPendingResolutions);
  // Past the bound: refused at once, no resolution started.
  const absl::Status status = RedisConnection::Open(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "name resolution not started")) << status;
  EXPECT_EQ(calls->load(), kMaxPendingResolutions);
  // An IP literal still connects meanwhile.
  Listener listener;
  options.host = "127.0.0.1";
  options.port = listener.port();
  EXPECT_TRUE(RedisConnection::Open(options).ok());

  release->Notify();
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (PendingResolutions() > 0 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(PendingResolutions(), 0);
}

}  // namespace
}  // namespace pcusage::snapshots
