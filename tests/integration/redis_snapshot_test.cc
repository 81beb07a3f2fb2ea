// Shared snapshots across replicas through Redis, over real processes on loopback: Debian's redis-server, the
// Partner Center emulator and three pcusage replicas sharing one Redis (one case over rediss://, TLS). The emulator's
// request log counts the walks; every caller's records are checked.
#include <csignal>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"
#include "tests/testing/emulator_and_server.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/testing_tls.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::pcusage::testing::EmulatorAndServer;
using ::pcusage::testing::RedisServer;

constexpr int kCustomers = 2000;
constexpr int kPageSize = 100;
constexpr int kPages = kCustomers / kPageSize;
constexpr int kReplicas = 3;
constexpr int kCallsPerReplica = 10;

// A pcusage replica the test started (the stack's flags, so the same Redis), and a client of it.
struct Replica {
  EmulatorAndServer::Server server;
  std::unique_ptr<client::UsageRecordsClient> client;
};

absl::StatusOr<Replica> StartReplica(const EmulatorAndServer& stack) {
  absl::StatusOr<EmulatorAndServer::Server> server = stack.StartReplica();
  if (!server.ok()) return server.status();
  Replica replica;
  replica.client = std::make_unique<client::UsageRecordsClient>(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port), grpc::InsecureChannelCredentials()));
  replica.server = *std::move(server);
  return replica;
}

struct Listing {
  client::ListSummary summary;
  std::vector<std::string> ids;
};
Listing List(client::UsageRecordsClient& client, std::optional<absl::Duration> max_staleness = std::nullopt) {
  client::ListOptions options;
  options.page_size = 250;
  options.timeout = absl::Seconds(60);
  options.max_staleness = max_staleness;
  Listing listing;
  listing.summary = client.ListUsageRecords(options, [&listing](const v1::CustomerMonthlyUsageRecord& record) {
    listing.ids.push_back(record.resource_id());
    return true;
  });
  return listing;
}

// Walks started (requests for the first page) in the emulator's request log, and all usage requests.
std::pair<int, int> Walks(const EmulatorAndServer& stack) {
  int walks = 0;
  int requests = 0;
  for (const nlohmann::json& request : stack.EmulatorRequests()) {
    if (request.value("path", "") != "/v1/customers/usagerecords") continue;
    ++requests;
    if (request.value("page", -1) == 0) ++walks;
  }
  return {walks, requests};
}

class RedisSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override { StartStack(RedisServer::Start(), {}); }

  // The stack and the replicas, sharing `redis` (the replicas given `redis_flags` too).
  void StartStack(absl::StatusOr<std::unique_ptr<RedisServer>> redis, const std::vector<std::string>& redis_flags) {
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    std::vector<std::string> flags = EmulatorAndServer::WithTokenFile();
    flags.insert(flags.end(), redis_flags.begin(), redis_flags.end());
    // One resume-token key for every replica, so that a token from one is accepted by the others.
    const std::string key_file = testing::TempPath("resume_key");
    std::ofstream(key_file) << "0123456789abcdef0123456789abcdef\n";
    flags.emplace_back("--resume_token_key_file=" + key_file);
    flags.emplace_back("--snapshot_store=" + redis_->url());
    flags.emplace_back("--redis_key_prefix=test:");
    // Exact walk counts need Redis to answer every replica: a timeout is a fallback to a walk of the replica's own
    // (by design), and under ASan on a loaded machine the default 1 s can pass.
    flags.emplace_back("--redis_timeout=10s");
    absl::StatusOr<std::unique_ptr<EmulatorAndServer>> stack = EmulatorAndServer::Start(
        {"--dataset=generated", absl::StrCat("--customers=", kCustomers), absl::StrCat("--page_size=", kPageSize)},
        flags);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    for (int i = 0; i < kReplicas; ++i) {
      absl::StatusOr<Replica> replica = StartReplica(*stack_);
      ASSERT_TRUE(replica.ok()) << replica.status();
      replicas_.push_back(*std::move(replica));
    }
    // Every walk takes at least 1.5 s (page 3 is slow), so concurrent calls overlap it.
    ASSERT_TRUE(stack_->SetFaults(R"([{"page": 3, "fault": "slow_first_byte", "delay_ms": 1500}])").ok());
  }
  void TearDown() override {
    for (Replica& replica : replicas_) {
      replica.client.reset();
      if (replica.server.process) replica.server.process->Stop(absl::Seconds(15));
    }
  }

  // `calls` identical calls at once, spread over the replicas; every listing.
  std::vector<Listing> ListConcurrently(int calls, std::optional<absl::Duration> max_staleness = std::nullopt) {
    std::vector<Listing> listings(calls);
    std::vector<std::thread> threads;
    threads.reserve(calls);
    for (int i = 0; i < calls; ++i) {
      threads.emplace_back([this, i, &listings, max_staleness] {
        listings[i] = List(*replicas_[i % replicas_.size()].client, max_staleness);
      });
    }
    for (std::thread& thread : threads) thread.join();
    return listings;
  }

  static void ExpectEveryRecordOnce(const std::vector<Listing>& listings, const std::vector<std::string>& reference) {
    for (std::size_t i = 0; i < listings.size(); ++i) {
      EXPECT_TRUE(listings[i].summary.status.ok())
          << "call " << i << ": " << listings[i].summary.status.error_message();
      EXPECT_EQ(listings[i].ids, reference) << "call " << i;
    }
  }

  // Concurrent identical calls across the replicas: one walk, every record exactly once, and later calls served
  // from Redis.
  void ExpectConcurrentCallsMakeOneWalk() {
    const std::vector<Listing> listings = ListConcurrently(kReplicas * kCallsPerReplica);
    const std::vector<std::string>& reference = listings.front().ids;
    ASSERT_EQ(reference.size(), static_cast<std::size_t>(kCustomers));
    EXPECT_EQ(std::set<std::string>(reference.begin(), reference.end()).size(), reference.size());
    ExpectEveryRecordOnce(listings, reference);
    const auto [walks, requests] = Walks(*stack_);
    EXPECT_EQ(walks, 1);
    EXPECT_EQ(requests, kPages);

    // Later calls on any replica, including the stack's own server, are served from Redis: no request at all.
    ASSERT_TRUE(stack_->SetFaults("[]").ok());
    ExpectEveryRecordOnce(ListConcurrently(kReplicas), reference);
    client::ListOptions options;
    options.page_size = 250;
    EmulatorAndServer::Listing on_stack = stack_->List(options);
    EXPECT_EQ(on_stack.records.size(), reference.size());
    EXPECT_EQ(Walks(*stack_).second, 0);
  }

  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<EmulatorAndServer> stack_;
  std::vector<Replica> replicas_;
};

// The same stack over rediss://: Redis listens with TLS only and requires a client certificate (its default).
class RedisSnapshotTlsTest : public RedisSnapshotTest {
 protected:
  void SetUp() override {
    absl::StatusOr<emulator::TestPki> pki = emulator::MakeTestPki(testing::TempPath("pki"));
    ASSERT_TRUE(pki.ok()) << pki.status();
    StartStack(RedisServer::StartTls({pki->server.cert_file, pki->server.key_file, pki->ca.cert_file}),
               {"--redis_tls_ca_file=" + pki->ca.cert_file, "--redis_tls_cert_file=" + pki->client.cert_file,
                "--redis_tls_key_file=" + pki->client.key_file});
    ASSERT_TRUE(absl::StartsWith(redis_->url(), "rediss://")) << redis_->url();
  }
};

TEST_F(RedisSnapshotTest, ConcurrentCallsOnThreeReplicasMakeOneWalk) { ExpectConcurrentCallsMakeOneWalk(); }

TEST_F(RedisSnapshotTlsTest, ConcurrentCallsOnThreeReplicasMakeOneWalkOverTls) { ExpectConcurrentCallsMakeOneWalk(); }

TEST_F(RedisSnapshotTest, RedisStoppedMidWalkAndRestartedCallsAreStillServed) {
  // A walk on replica 0; Redis goes away while it runs; the others' calls follow it, then find Redis gone. A call
  // that had received records walks on from the page after its last (no error: Redis never fails a call); one that
  // had not walks on its own.
  std::vector<Listing> listings(kReplicas);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([this, i, &listings] { listings[i] = List(*replicas_[i].client); });
    if (i == 0) absl::SleepFor(absl::Milliseconds(300));
  }
  absl::SleepFor(absl::Milliseconds(400));  // inside the slow page 3
  redis_->Stop();
  for (std::thread& thread : threads) thread.join();
  const std::vector<std::string>& reference = listings.front().ids;
  ASSERT_EQ(reference.size(), static_cast<std::size_t>(kCustomers));
  ExpectEveryRecordOnce(listings, reference);
  EXPECT_LE(Walks(*stack_).first, kReplicas);

  // With Redis down, fresh calls on every replica are served by the replica alone.
  ExpectEveryRecordOnce(ListConcurrently(kReplicas, absl::ZeroDuration()), reference);

  // Redis back (empty): after the replicas' pause (5 s), one walk serves the fleet again.
  ASSERT_TRUE(redis_->Restart().ok());
  absl::SleepFor(absl::Seconds(6));
  ASSERT_TRUE(stack_->SetFaults(R"([{"page": 3, "fault": "slow_first_byte", "delay_ms": 1500}])").ok());
  ExpectEveryRecordOnce(ListConcurrently(kReplicas * 2, absl::Seconds(1)), reference);
  EXPECT_EQ(Walks(*stack_).first, 1);
}

TEST_F(RedisSnapshotTest, CallsOnOtherReplicasReceiveTheWalksRecordsAsItsPagesLand) {
  // Replica 0 walks (page 3 takes 1.5 s); a call on replica 1 follows that walk's pages as they land.
  absl::Mutex mu;
  std::vector<std::string> events;
  const auto event = [&mu, &events](std::string what) {
    absl::MutexLock lock(&mu);
    events.push_back(std::move(what));
  };
  Listing on_walker;
  std::thread walker([this, &on_walker, &event] {
    on_walker = List(*replicas_[0].client);
    event("the walking replica's call ended");
  });
  absl::SleepFor(absl::Milliseconds(300));
  Listing following;
  client::ListOptions options;
  options.page_size = 250;
  options.timeout = absl::Seconds(60);
  following.summary = replicas_[1].client->ListUsageRecords(
      options, [&following, &event](const v1::CustomerMonthlyUsageRecord& record) {
        if (following.ids.empty()) event("the following call's first record");
        following.ids.push_back(record.resource_id());
        return true;
      });
  walker.join();
  ASSERT_EQ(on_walker.ids.size(), static_cast<std::size_t>(kCustomers));
  ExpectEveryRecordOnce({on_walker, following}, on_walker.ids);
  EXPECT_EQ(events,
            std::vector<std::string>({"the following call's first record", "the walking replica's call ended"}));
  EXPECT_EQ(Walks(*stack_).first, 1);
  EXPECT_EQ(Walks(*stack_).second, kPages);
}

TEST_F(RedisSnapshotTest, TheWalkingReplicaKilledMidWalkItsFollowersWalkOnAndGetEveryRecordOnce) {
  // Page 3 takes 3 s: replica 0 walks, holding the lock; calls on replicas 1 and 2 follow it and receive its first
  // pages; then replica 0 dies.
  ASSERT_TRUE(stack_->SetFaults(R"([{"page": 3, "fault": "slow_first_byte", "delay_ms": 3000}])").ok());
  Listing on_walker;
  std::thread walker([this, &on_walker] { on_walker = List(*replicas_[0].client); });
  absl::SleepFor(absl::Milliseconds(500));
  std::vector<Listing> listings(kReplicas - 1);
  std::vector<std::thread> threads;
  for (int i = 1; i < kReplicas; ++i) {
    threads.emplace_back([this, i, &listings] { listings[i - 1] = List(*replicas_[i].client); });
  }
  absl::SleepFor(absl::Milliseconds(500));
  replicas_[0].server.process->Signal(SIGKILL);
  walker.join();
  for (std::thread& thread : threads) thread.join();
  EXPECT_FALSE(on_walker.summary.status.ok());
  // Once the dead walker's lock expires (10 s after its last renewal), each follower's replica walks on from the
  // Partner Center page after the last one it received: every record once, and no error.
  ASSERT_TRUE(stack_->SetFaults("[]").ok());
  const Listing reference = List(*replicas_[1].client, absl::ZeroDuration());
  ASSERT_TRUE(reference.summary.status.ok()) << reference.summary.status.error_message();
  ASSERT_EQ(reference.ids.size(), static_cast<std::size_t>(kCustomers));
  ExpectEveryRecordOnce(listings, reference.ids);
  for (int i = 1; i < kReplicas; ++i) {
    EXPECT_NE(replicas_[i].server.process->Log().find("walking on from its next page"), std::string::npos)
        << "replica " << i << " did not walk on from the lost walk";
  }
}

TEST_F(RedisSnapshotTest, AStreamCancelledOnOneReplicaResumesOnAnotherInsideTheSnapshotRedisHolds) {
  // Replica 0 walks and publishes the snapshot; the emulator's log is cleared after.
  const Listing walked = List(*replicas_[0].client);
  ASSERT_TRUE(walked.summary.status.ok()) << walked.summary.status.error_message();
  const std::vector<std::string>& reference = walked.ids;
  ASSERT_EQ(reference.size(), static_cast<std::size_t>(kCustomers));
  ASSERT_TRUE(stack_->SetFaults("[]").ok());

  // A stream on replica 0, from its snapshot, whose caller cancels it after 750 records, in the middle of a
  // message; it keeps the records of the messages it received whole, which its resume token follows.
  client::ListOptions options;
  options.page_size = 250;
  options.timeout = absl::Seconds(60);
  std::vector<std::string> first;
  std::size_t whole = 0;
  const client::ListSummary cancelled = replicas_[0].client->ListUsageRecords(
      options,
      [&first](const v1::CustomerMonthlyUsageRecord& record) {
        first.push_back(record.resource_id());
        return first.size() < 750;
      },
      [&first, &whole] { whole = first.size(); });
  EXPECT_EQ(cancelled.status.error_code(), grpc::StatusCode::CANCELLED) << cancelled.status.error_message();
  ASSERT_GT(whole, 0U);
  ASSERT_LT(whole, first.size());
  first.resize(whole);
  ASSERT_FALSE(cancelled.resume_token.empty());
  EXPECT_TRUE(cancelled.from_shared_snapshot);

  // Resumed on replica 1, which never held that snapshot: it continues inside the copy Redis holds.
  options.resume_token = cancelled.resume_token;
  Listing rest;
  rest.summary = replicas_[1].client->ListUsageRecords(options, [&rest](const v1::CustomerMonthlyUsageRecord& record) {
    rest.ids.push_back(record.resource_id());
    return true;
  });
  ASSERT_TRUE(rest.summary.status.ok()) << rest.summary.status.error_message();
  EXPECT_TRUE(rest.summary.from_shared_snapshot);
  EXPECT_EQ(rest.summary.snapshot_time, cancelled.snapshot_time);
  std::vector<std::string> both = first;
  both.insert(both.end(), rest.ids.begin(), rest.ids.end());
  EXPECT_EQ(both, reference) << whole << " + " << rest.ids.size();  // every record exactly once, in order
  const auto [walks, requests] = Walks(*stack_);
  EXPECT_EQ(walks, 0);
  EXPECT_EQ(requests, 0);  // no Partner Center request: not the fallback
}

}  // namespace
}  // namespace pcusage
