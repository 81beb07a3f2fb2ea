// Shared snapshots over real processes on loopback: the Partner Center emulator's request log proves how many walks
// were made, and every caller's records are checked, in order, against a reference list.
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/emulator_and_server.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::pcusage::testing::EmulatorAndServer;

constexpr int kCustomers = 3000;
constexpr int kPageSize = 100;
constexpr int kPages = kCustomers / kPageSize;

// Tokens the emulator accepts: two partners, and a JWT-shaped one whose forgery (same header and claims, another
// signature) it refuses.
constexpr char kPartnerA[] = "partner-a";
constexpr char kPartnerB[] = "partner-b";
constexpr char kJwt[] = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJwYXJ0bmVyLWEiLCJvaWQiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWE";
constexpr char kForgedJwt[] = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJwYXJ0bmVyLWEiLCJvaWQiOiJ1c2VyLTEifQ.Zm9yZ2VyeQ";

std::unique_ptr<EmulatorAndServer> Start(int customers, std::vector<std::string> server_flags) {
  absl::StatusOr<std::unique_ptr<EmulatorAndServer>> stack = EmulatorAndServer::Start(
      {"--dataset=generated", absl::StrCat("--customers=", customers), absl::StrCat("--page_size=", kPageSize),
       absl::StrCat("--access_token=", testing::kEmulatorToken, ",", kPartnerA, ",", kPartnerB, ",", kJwt)},
      std::move(server_flags));
  EXPECT_TRUE(stack.ok()) << stack.status();
  return stack.ok() ? *std::move(stack) : nullptr;
}

client::ListOptions Options(std::optional<absl::Duration> max_staleness = std::nullopt, std::string token = "") {
  client::ListOptions options;
  options.page_size = 250;
  options.timeout = absl::Seconds(60);
  options.max_staleness = max_staleness;
  options.access_token = std::move(token);
  return options;
}

std::vector<std::string> Ids(const std::vector<v1::CustomerMonthlyUsageRecord>& records) {
  std::vector<std::string> ids;
  ids.reserve(records.size());
  for (const auto& record : records) ids.push_back(record.resource_id());
  return ids;
}

// About what the records take in a snapshot (their protobuf bytes).
std::size_t TranslatedBytes(const std::vector<v1::CustomerMonthlyUsageRecord>& records) {
  std::size_t bytes = 0;
  for (const auto& record : records) bytes += record.ByteSizeLong();
  return bytes;
}

// The usage-route requests in the emulator's log, and how many of them asked for the first page (walks started).
struct UpstreamRequests {
  int total = 0;
  int walks = 0;
};
UpstreamRequests Upstream(const EmulatorAndServer& stack) {
  UpstreamRequests requests;
  for (const nlohmann::json& request : stack.EmulatorRequests()) {
    if (request.value("path", "") != "/v1/customers/usagerecords") continue;
    ++requests.total;
    if (request.value("page", -1) == 0) ++requests.walks;
  }
  return requests;
}

class SnapshotTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = Start(kCustomers, EmulatorAndServer::WithTokenFile()).release();
    ASSERT_NE(stack_, nullptr);
    // The reference list, from a walk of its own.
    EmulatorAndServer::Listing reference = stack_->List(Options(absl::ZeroDuration()));
    ASSERT_TRUE(reference.summary.status.ok()) << reference.summary.status.error_message();
    expected_ = new std::vector<std::string>(Ids(reference.records));
    ASSERT_EQ(expected_->size(), static_cast<std::size_t>(kCustomers));
    ASSERT_EQ(std::set<std::string>(expected_->begin(), expected_->end()).size(), expected_->size());
  }
  static void TearDownTestSuite() {
    delete stack_;
    delete expected_;
  }
  void SetUp() override { ASSERT_TRUE(stack_ != nullptr && expected_ != nullptr); }

  static EmulatorAndServer* stack_;
  static std::vector<std::string>* expected_;
};
EmulatorAndServer* SnapshotTest::stack_ = nullptr;
std::vector<std::string>* SnapshotTest::expected_ = nullptr;

TEST_F(SnapshotTest, ConcurrentIdenticalCallsMakeOneWalkAndEachGetsEveryRecordOnceInOrder) {
  // Page 2 waits a second, so the walk is still in flight when the other calls arrive.
  ASSERT_TRUE(stack_->SetFaults(R"([{"page": 2, "fault": "slow_first_byte", "delay_ms": 1000}])").ok());
  constexpr int kCalls = 8;
  std::vector<EmulatorAndServer::Listing> listings(kCalls);
  std::vector<std::thread> callers;
  // The first asks for a fresh walk; the others join it.
  callers.emplace_back([&listings] { listings[0] = stack_->List(Options(absl::ZeroDuration())); });
  absl::SleepFor(absl::Milliseconds(200));
  for (int i = 1; i < kCalls; ++i) callers.emplace_back([&listings, i] { listings[i] = stack_->List(Options()); });
  for (std::thread& caller : callers) caller.join();

  int shared = 0;
  for (const EmulatorAndServer::Listing& listing : listings) {
    ASSERT_TRUE(listing.summary.status.ok()) << listing.summary.status.error_message();
    EXPECT_EQ(Ids(listing.records), *expected_);
    EXPECT_EQ(listing.summary.snapshot_time, listings[0].summary.snapshot_time);
    shared += listing.summary.from_shared_snapshot ? 1 : 0;
  }
  EXPECT_EQ(shared, kCalls - 1);
  const UpstreamRequests upstream = Upstream(*stack_);
  EXPECT_EQ(upstream.walks, 1);
  EXPECT_EQ(upstream.total, kPages);
}

TEST_F(SnapshotTest, ACallWithinMaxStalenessAsksPartnerCenterNothingAndZeroMeansAFreshWalk) {
  ASSERT_TRUE(stack_->List(Options(absl::ZeroDuration())).summary.status.ok());
  ASSERT_TRUE(stack_->SetFaults("[]").ok());  // clears the request log

  EmulatorAndServer::Listing held = stack_->List(Options(absl::Minutes(10)));
  ASSERT_TRUE(held.summary.status.ok());
  EXPECT_EQ(Ids(held.records), *expected_);
  EXPECT_TRUE(held.summary.from_shared_snapshot);
  EXPECT_EQ(Upstream(*stack_).total, 0);

  EmulatorAndServer::Listing fresh = stack_->List(Options(absl::ZeroDuration()));
  ASSERT_TRUE(fresh.summary.status.ok());
  EXPECT_EQ(Ids(fresh.records), *expected_);
  EXPECT_FALSE(fresh.summary.from_shared_snapshot);
  ASSERT_TRUE(fresh.summary.snapshot_time.has_value() && held.summary.snapshot_time.has_value());
  EXPECT_GT(*fresh.summary.snapshot_time, *held.summary.snapshot_time);
  EXPECT_EQ(Upstream(*stack_).walks, 1);
  EXPECT_EQ(Upstream(*stack_).total, kPages);
}

TEST_F(SnapshotTest, AJoinerMidWalkGetsTheRecordsFetchedSoFarThenFollowsLive) {
  ASSERT_TRUE(stack_->SetFaults(R"([{"page": 20, "fault": "slow_first_byte", "delay_ms": 1500}])").ok());
  absl::Notification halfway;
  EmulatorAndServer::Listing first;
  std::thread starter([&first, &halfway] {
    first = stack_->List(Options(absl::ZeroDuration()), [&halfway](const v1::CustomerMonthlyUsageRecord&) {
      if (!halfway.HasBeenNotified()) halfway.Notify();
      return true;
    });
  });
  halfway.WaitForNotification();  // the walk is under way; page 20 holds it for a while
  EmulatorAndServer::Listing joiner = stack_->List(Options());
  starter.join();
  ASSERT_TRUE(first.summary.status.ok());
  ASSERT_TRUE(joiner.summary.status.ok()) << joiner.summary.status.error_message();
  EXPECT_EQ(Ids(first.records), *expected_);
  EXPECT_EQ(Ids(joiner.records), *expected_);
  EXPECT_TRUE(joiner.summary.from_shared_snapshot);
  EXPECT_EQ(joiner.summary.snapshot_time, first.summary.snapshot_time);
  EXPECT_EQ(Upstream(*stack_).walks, 1);
  EXPECT_EQ(Upstream(*stack_).total, kPages);
}

TEST_F(SnapshotTest, AWalkFailingAtPageKEndsEveryJoinedCallerAlikeWithResumeTokensThatContinueExactly) {
  // Page 3 waits so the second call joins; page 5 is refused (403 is never retried).
  const absl::Status faults_set = stack_->SetFaults(R"([{"page": 3, "fault": "slow_first_byte", "delay_ms": 1000},
                                                      {"page": 5, "fault": "http_status", "status": 403}])");
  ASSERT_TRUE(faults_set.ok()) << faults_set;
  EmulatorAndServer::Listing first;
  std::thread starter([&first] { first = stack_->List(Options(absl::ZeroDuration())); });
  absl::SleepFor(absl::Milliseconds(300));
  EmulatorAndServer::Listing joiner = stack_->List(Options());
  starter.join();
  for (const EmulatorAndServer::Listing* listing : {&first, &joiner}) {
    EXPECT_EQ(listing->summary.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    ASSERT_TRUE(listing->summary.error_info.has_value());
    EXPECT_EQ(listing->summary.error_info->reason(), first.summary.error_info->reason());
    EXPECT_EQ(listing->summary.status.error_message(), first.summary.status.error_message());
    EXPECT_EQ(Ids(listing->records), std::vector<std::string>(expected_->begin(), expected_->begin() + 5 * kPageSize));
  }
  EXPECT_TRUE(joiner.summary.from_shared_snapshot);
  EXPECT_EQ(Upstream(*stack_).walks, 1);
  // A failed walk is not kept: each resume continues from Partner Center's page 5, exactly after what it received.
  for (const EmulatorAndServer::Listing* listing : {&first, &joiner}) {
    client::ListOptions resume = Options();
    resume.resume_token = listing->summary.resume_token;
    EmulatorAndServer::Listing rest = stack_->List(resume);
    ASSERT_TRUE(rest.summary.status.ok()) << rest.summary.status.error_message();
    std::vector<std::string> all = Ids(listing->records);
    for (const std::string& id : Ids(rest.records)) all.push_back(id);
    EXPECT_EQ(all, *expected_);
  }
}

TEST_F(SnapshotTest, AResumeTokenContinuesInsideAHeldSnapshotWithoutAskingPartnerCenter) {
  ASSERT_TRUE(stack_->List(Options(absl::ZeroDuration())).summary.status.ok());  // a complete snapshot, held
  // Stopped after 1,250 records in messages of 50: the resume token follows the 25th, in the middle of page 12.
  client::ListOptions small_messages = Options();
  small_messages.page_size = 50;
  EmulatorAndServer::Listing cut = stack_->List(small_messages, 1250);
  ASSERT_EQ(cut.records.size(), 1250u);
  ASSERT_TRUE(cut.summary.from_shared_snapshot);
  ASSERT_FALSE(cut.summary.resume_token.empty());
  ASSERT_TRUE(stack_->SetFaults("[]").ok());
  client::ListOptions resume = Options();
  resume.resume_token = cut.summary.resume_token;
  EmulatorAndServer::Listing rest = stack_->List(resume);
  ASSERT_TRUE(rest.summary.status.ok()) << rest.summary.status.error_message();
  std::vector<std::string> all = Ids(cut.records);
  const std::vector<std::string> rest_ids = Ids(rest.records);
  all.insert(all.end(), rest_ids.begin(), rest_ids.end());
  EXPECT_EQ(all, *expected_);
  EXPECT_EQ(Upstream(*stack_).total, 0) << "resumed from the held snapshot, or from Partner Center?";
}

TEST(SnapshotIdentityTest, PassthroughTokensAreSeparateIdentitiesAndAForgedJwtReadsNothing) {
  auto stack = Start(kCustomers, {});  // passthrough: each call brings its token
  ASSERT_NE(stack, nullptr);
  std::vector<bool> shared;
  for (const char* token : {kPartnerA, kPartnerB, kPartnerA, kJwt}) {
    EmulatorAndServer::Listing listing = stack->List(Options(std::nullopt, token));
    ASSERT_TRUE(listing.summary.status.ok()) << token << ": " << listing.summary.status.error_message();
    EXPECT_EQ(listing.records.size(), static_cast<std::size_t>(kCustomers));
    shared.push_back(listing.summary.from_shared_snapshot);
  }
  EXPECT_THAT(shared, ::testing::ElementsAre(false, false, true, false));
  EXPECT_EQ(Upstream(*stack).walks, 3);  // partner-a, partner-b, the JWT: partner-a's second call was served
  // Same header and claims as the JWT that has a snapshot, another signature: its own walk, which Partner Center
  // refuses, and not one record.
  EmulatorAndServer::Listing forged = stack->List(Options(std::nullopt, kForgedJwt));
  EXPECT_EQ(forged.summary.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(forged.records.empty());
  EXPECT_EQ(Upstream(*stack).walks, 4);
  EXPECT_EQ(stack->ServerLog().find(kPartnerA), std::string::npos) << "a token in the server's log";
  EXPECT_EQ(stack->ServerLog().find(kJwt), std::string::npos) << "a token in the server's log";
}

TEST(SnapshotIdentityTest, ACallerThatStopsReadingDelaysNeitherTheWalkNorAnotherCaller) {
  // Far more than gRPC's flow-control windows: the stuck caller's stream on the server blocks for good.
  constexpr int kManyCustomers = 20000;
  auto stack = Start(kManyCustomers, EmulatorAndServer::WithTokenFile());
  ASSERT_NE(stack, nullptr);
  absl::Notification stuck;
  absl::Notification release;
  EmulatorAndServer::Listing slow;
  std::thread slow_caller([&] {
    slow = stack->List(Options(absl::ZeroDuration()), [&](const v1::CustomerMonthlyUsageRecord&) {
      if (!stuck.HasBeenNotified()) {
        stuck.Notify();
        release.WaitForNotification();
      }
      return true;
    });
  });
  stuck.WaitForNotification();
  // While the first caller reads nothing, a second one joins its walk and gets every record.
  client::ListOptions options = Options();
  options.timeout = absl::Seconds(30);
  EmulatorAndServer::Listing other = stack->List(options);
  const bool slow_still_stuck = !release.HasBeenNotified();
  release.Notify();
  slow_caller.join();
  EXPECT_TRUE(slow_still_stuck);
  ASSERT_TRUE(other.summary.status.ok()) << other.summary.status.error_message();
  EXPECT_TRUE(other.summary.from_shared_snapshot);
  EXPECT_EQ(other.records.size(), static_cast<std::size_t>(kManyCustomers));
  ASSERT_TRUE(slow.summary.status.ok()) << slow.summary.status.error_message();
  EXPECT_EQ(Ids(slow.records), Ids(other.records));
  EXPECT_EQ(Upstream(*stack).walks, 1);
}

TEST(SnapshotMemoryTest, TheLeastRecentlyUsedSnapshotIsDroppedWhenTheBoundIsReached) {
  // With a 1 MiB bound: 2,000 records (about 0.56 MB translated) fit once, not twice.
  constexpr int kFewerCustomers = 2000;
  auto stack = Start(kFewerCustomers, {"--snapshot_cache_bytes=1048576"});  // passthrough: one identity per token
  ASSERT_NE(stack, nullptr);
  std::vector<bool> shared;
  for (const char* token : {kPartnerA, kPartnerA, kPartnerB, kPartnerB, kPartnerA}) {
    EmulatorAndServer::Listing listing = stack->List(Options(std::nullopt, token));
    ASSERT_TRUE(listing.summary.status.ok()) << listing.summary.status.error_message();
    EXPECT_EQ(listing.records.size(), static_cast<std::size_t>(kFewerCustomers));
    const std::size_t translated = TranslatedBytes(listing.records);
    ASSERT_GT(translated, std::size_t{1} << 19) << "the data set no longer fills half the bound";
    ASSERT_LT(translated, std::size_t{1} << 20) << "the data set no longer fits the bound";
    shared.push_back(listing.summary.from_shared_snapshot);
  }
  // partner-a's snapshot served its second call, then made way for partner-b's: its third call walked again.
  EXPECT_THAT(shared, ::testing::ElementsAre(false, true, false, true, false));
  EXPECT_EQ(Upstream(*stack).walks, 3);
}

TEST(SnapshotMemoryTest, AWalkOverTheByteBoundStillDeliversEverythingButIsNotKept) {
  // With a 1 MiB bound: 6,000 records (about 1.7 MB translated) are more than it holds.
  constexpr int kMoreCustomers = 6000;
  auto stack = Start(kMoreCustomers, {"--snapshot_cache_bytes=1048576"});
  ASSERT_NE(stack, nullptr);
  for (int call = 1; call <= 2; ++call) {
    EmulatorAndServer::Listing listing = stack->List(Options(std::nullopt, kPartnerA));
    ASSERT_TRUE(listing.summary.status.ok()) << listing.summary.status.error_message();
    EXPECT_EQ(listing.records.size(), static_cast<std::size_t>(kMoreCustomers));
    ASSERT_GT(TranslatedBytes(listing.records), std::size_t{1} << 20) << "the data set no longer exceeds the bound";
    EXPECT_FALSE(listing.summary.from_shared_snapshot) << "call " << call << ": the walk was over the bound";
    EXPECT_EQ(Upstream(*stack).walks, call);
  }
}

}  // namespace
}  // namespace pcusage
