// The Redis snapshot store over FakeRedisClient: replicas (stores) sharing one fake Redis, an upstream that counts
// its walks, and every record checked.
#include "server/snapshots/redis_snapshot_store.h"

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
#include "server/metrics/pcusage_metrics.h"
#include "server/snapshots/fake_redis_client.h"
#include "server/snapshots/snapshot_codec.h"

namespace pcusage::snapshots {
namespace {

using partner_center::FetchedPage;
using partner_center::PageSource;

constexpr int kPages = 4;
constexpr int kRecordsPerPage = 5;

FetchedPage MakePage(int index) {
  FetchedPage page;
  for (int i = 0; i < kRecordsPerPage; ++i) {
    partner_center::PageRecords::Record record;
    record.set_resource_id(absl::StrCat("p", index, "-r", i));
    record.set_name(absl::StrCat("customer ", index * kRecordsPerPage + i));
    page.page.records.Append(record);
  }
  page.position.url = absl::StrCat("https://pc.example/v1/customers/usagerecords?page=", index);
  page.position.headers = {{"MS-ContinuationToken", absl::StrCat("ct", index)}};
  page.position.page_number = index + 1;
  if (index + 1 < kPages) {
    page.next = partner_center::PagePosition{absl::StrCat("next", index + 1), {}, index + 2};
    page.page.next = partner_center::NextPageLink{absl::StrCat("next", index + 1), {{"h", "v"}}};
  }
  page.page.total_count = kPages * kRecordsPerPage;
  page.index_in_walk = index;
  return page;
}

// Partner Center: counts walks; each serves kPages pages, those from `gate_at` on once `open` is notified (when
// `gated`), then ends with `end` (or fails with it at page `fail_at`).
class Upstream {
 public:
  explicit Upstream(absl::Status end = absl::OkStatus()) : end_(std::move(end)) {}
  StartWalk Starter() {
    return [this]() -> absl::StatusOr<std::unique_ptr<PageSource>> {
      absl::MutexLock lock(&mu_);
      ++walks_;
      return std::make_unique<Walk>(this);
    };
  }
  int walks() {
    absl::MutexLock lock(&mu_);
    return walks_;
  }
  // Walks on from a page's next position (its page_number says which), as PageOpener's continuer does; counted
  // apart from walks.
  ContinueWalk Continuer() {
    return [this](const partner_center::PagePosition& from, int64_t first_index,
                  absl::Time walk_started) -> absl::StatusOr<std::unique_ptr<PageSource>> {
      absl::MutexLock lock(&mu_);
      ++continued_;
      walk_started_ = walk_started;
      EXPECT_EQ(first_index, from.page_number - 1);
      return std::make_unique<Walk>(this, from.page_number - 1);
    };
  }
  int continued() {
    absl::MutexLock lock(&mu_);
    return continued_;
  }
  // The start of the walk the last continuation continued, as the store said.
  absl::Time walk_started() {
    absl::MutexLock lock(&mu_);
    return walk_started_;
  }
  absl::Notification open;
  bool gated = false;
  int gate_at = 0;
  int fail_at = kPages;

 private:
  class Walk final : public PageSource {
   public:
    explicit Walk(Upstream* upstream, int first_page = 0) : upstream_(upstream), served_(first_page) {}
    absl::StatusOr<std::optional<FetchedPage>> Next() override {
      if (upstream_->gated && served_ >= upstream_->gate_at) upstream_->open.WaitForNotification();
      if (served_ == upstream_->fail_at && !upstream_->end_.ok()) return upstream_->end_;
      if (served_ == kPages) return std::nullopt;
      return std::optional<FetchedPage>(MakePage(served_++));
    }
    void Cancel() override {}

   private:
    Upstream* const upstream_;
    int served_;
  };
  absl::Mutex mu_;
  int walks_ ABSL_GUARDED_BY(mu_) = 0;
  int continued_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time walk_started_ ABSL_GUARDED_BY(mu_);
  const absl::Status end_;
};

struct ReadOut {
  std::vector<std::string> ids;
  std::vector<std::string> positions;  // each page's URL and continuation header
  absl::Status status;
};
// Adds a page's records and position to `out`.
void Add(const FetchedPage& page, ReadOut& out) {
  for (std::size_t i = 0; i < page.page.records.size(); ++i) out.ids.emplace_back(page.page.records.ResourceId(i));
  out.positions.push_back(
      absl::StrCat(page.position.url, " ", page.position.headers.at(0).value, " ", page.index_in_walk));
}

ReadOut ReadAll(PageSource& pages) {
  ReadOut out;
  for (;;) {
    absl::StatusOr<std::optional<FetchedPage>> page = pages.Next();
    if (!page.ok()) {
      out.status = page.status();
      return out;
    }
    if (!page->has_value()) return out;
    Add(**page, out);
  }
}

// The next `pages` pages of `source`, each expected.
ReadOut ReadPagesOf(PageSource& source, int pages) {
  ReadOut out;
  for (int p = 0; p < pages; ++p) {
    absl::StatusOr<std::optional<FetchedPage>> page = source.Next();
    EXPECT_TRUE(page.ok() && page->has_value()) << p;
    if (!page.ok() || !page->has_value()) break;
    Add(**page, out);
  }
  return out;
}

std::vector<std::string> AllIds() {
  std::vector<std::string> ids;
  for (int p = 0; p < kPages; ++p) {
    for (int r = 0; r < kRecordsPerPage; ++r) ids.push_back(absl::StrCat("p", p, "-r", r));
  }
  return ids;
}

// The records of pages `first` to `end` (excluded).
std::vector<std::string> IdsOfPages(int first, int end = kPages) {
  const std::vector<std::string> all = AllIds();
  return std::vector<std::string>(all.begin() + std::ptrdiff_t{first} * kRecordsPerPage,
                                  all.begin() + std::ptrdiff_t{end} * kRecordsPerPage);
}

// `replica` resumes `identity`'s snapshot `snapshot_id` at page `page` and reads every record from there on.
void ExpectContinuesInside(RedisSnapshotStore& replica, const std::string& identity, const std::string& snapshot_id,
                           int page) {
  std::optional<OpenedSnapshot> resumed = replica.Resume(identity, snapshot_id, page, {});
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->snapshot_id, snapshot_id);
  const ReadOut rest = ReadAll(*resumed->pages);
  EXPECT_TRUE(rest.status.ok()) << rest.status;
  EXPECT_EQ(rest.ids, IdsOfPages(page));
}

RedisStoreOptions FastOptions() {
  RedisStoreOptions options;
  options.snapshot_ttl = absl::Minutes(5);
  options.lock_ttl = absl::Milliseconds(300);
  options.poll_interval = absl::Milliseconds(10);
  options.retry_after_failure = absl::Seconds(30);
  return options;
}

std::unique_ptr<RedisSnapshotStore> Replica(const std::shared_ptr<FakeRedisClient>& redis,
                                            RedisStoreOptions options = FastOptions()) {
  return std::make_unique<RedisSnapshotStore>(redis, std::move(options), SnapshotOptions{});
}

constexpr char kIdentity[] = "server-credentials";

TEST(SnapshotCodecTest, PagesRoundTripExactlyAndGarbageIsDataLoss) {
  const absl::Time started = absl::FromUnixSeconds(1700000000);
  SnapshotEncoder encoder("0123abcd", started);
  for (int p = 0; p < kPages; ++p) encoder.Add(MakePage(p));
  const std::string encoded = encoder.Encoded();
  absl::StatusOr<EncodedSnapshotHeader> header = DecodeSnapshotHeader(encoded);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->snapshot_id, "0123abcd");
  EXPECT_EQ(header->started, started);
  EXPECT_FALSE(header->too_large);
  absl::StatusOr<std::vector<FetchedPage>> pages = DecodeSnapshotPages(encoded);
  ASSERT_TRUE(pages.ok()) << pages.status();
  ASSERT_EQ(pages->size(), static_cast<std::size_t>(kPages));
  for (int p = 0; p < kPages; ++p) {
    const FetchedPage want = MakePage(p);
    const FetchedPage& got = (*pages)[p];
    EXPECT_EQ(got.page.records.Entries(0, kRecordsPerPage), want.page.records.Entries(0, kRecordsPerPage));
    EXPECT_EQ(got.page.records.ResourceId(1), want.page.records.ResourceId(1));
    EXPECT_EQ(got.position.url, want.position.url);
    EXPECT_EQ(got.position.headers, want.position.headers);
    EXPECT_EQ(got.position.page_number, want.position.page_number);
    EXPECT_EQ(got.next.has_value(), want.next.has_value());
    EXPECT_EQ(got.page.next.has_value(), want.page.next.has_value());
    if (got.page.next.has_value()) {
      EXPECT_EQ(got.page.next->headers, want.page.next->headers);
    }
    EXPECT_EQ(got.page.total_count, want.page.total_count);
    EXPECT_EQ(got.index_in_walk, p);
  }
  // Every truncation and a flipped byte in each place: an error, never a crash or made-up pages.
  for (std::size_t size = 0; size < encoded.size(); ++size) {
    EXPECT_FALSE(DecodeSnapshotPages(encoded.substr(0, size)).ok()) << size;
  }
  EXPECT_EQ(DecodeSnapshotPages("garbage").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(DecodeSnapshotPages(encoded + "x").ok());
  absl::StatusOr<EncodedSnapshotHeader> marker = DecodeSnapshotHeader(EncodeTooLarge("0123abcd", started));
  ASSERT_TRUE(marker.ok());
  EXPECT_TRUE(marker->too_large);
  EXPECT_EQ(marker->snapshot_id, "0123abcd");
}

TEST(RedisSnapshotStoreTest, ReplicasShareOneWalkAndWaitersGetEveryRecord) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  upstream.gated = true;
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis);
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis);
  OpenedSnapshot walking = a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  OpenedSnapshot waiting = b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  EXPECT_EQ(waiting.snapshot_time, walking.snapshot_time);  // the walk's start, named by its lock
  upstream.open.Notify();
  const ReadOut from_a = ReadAll(*walking.pages);
  const ReadOut from_b = ReadAll(*waiting.pages);
  EXPECT_TRUE(from_a.status.ok()) << from_a.status;
  EXPECT_TRUE(from_b.status.ok()) << from_b.status;
  EXPECT_EQ(from_a.ids, AllIds());
  EXPECT_EQ(from_b.ids, AllIds());
  EXPECT_EQ(from_b.positions, from_a.positions);
  EXPECT_EQ(upstream.walks(), 1);

  // A third replica, later, is served from Redis at once: no walk, the first walk's time.
  std::unique_ptr<RedisSnapshotStore> c = Replica(redis);
  OpenedSnapshot served = c->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  EXPECT_EQ(ReadAll(*served.pages).ids, AllIds());
  EXPECT_EQ(served.snapshot_time, walking.snapshot_time);
  EXPECT_EQ(served.snapshot_id, walking.snapshot_id);  // named alike on every replica that serves it
  EXPECT_EQ(upstream.walks(), 1);
  // ... unless the call wants a younger list than that.
  absl::SleepFor(absl::Milliseconds(20));
  OpenedSnapshot fresh = c->Open(kIdentity, absl::Milliseconds(10), upstream.Starter(), {});
  EXPECT_EQ(ReadAll(*fresh.pages).ids, AllIds());
  EXPECT_EQ(upstream.walks(), 2);
}

// The one live key starting with `prefix`.
std::string KeyStartingWith(FakeRedisClient& redis, absl::string_view prefix) {
  std::string found;
  for (const std::string& key : redis.Keys()) {
    if (absl::StartsWith(key, prefix)) {
      EXPECT_TRUE(found.empty()) << "two keys start with " << prefix;
      found = key;
    }
  }
  return found;
}

TEST(RedisSnapshotStoreTest, KeysHoldNoIdentityAndSnapshotsExpireWithTheStalenessBound) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  const std::string identity = "token-sha256:0123abcd";
  RedisStoreOptions options = FastOptions();
  options.snapshot_ttl = absl::Minutes(3);
  options.key_prefix = "fleet-7:";
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis, options);
  ASSERT_TRUE(ReadAll(*a->Open(identity, absl::Minutes(3), upstream.Starter(), {}).pages).status.ok());
  for (const std::string& key : redis->Keys()) {
    EXPECT_TRUE(absl::StartsWith(key, "fleet-7:")) << key;
    EXPECT_EQ(key.find("0123abcd"), std::string::npos) << key;
  }
  const std::string snapshot = KeyStartingWith(*redis, "fleet-7:snapshot:");
  ASSERT_FALSE(snapshot.empty());
  EXPECT_EQ(snapshot.size(), std::string("fleet-7:snapshot:").size() + 64);  // a SHA-256, in hex
  EXPECT_EQ(KeyStartingWith(*redis, "fleet-7:walk:"), "");                   // released with the publication
  const std::optional<absl::Duration> ttl = redis->Ttl(snapshot);
  ASSERT_TRUE(ttl.has_value());
  EXPECT_LE(*ttl, absl::Minutes(3));
  EXPECT_GT(*ttl, absl::Minutes(2));
}

TEST(RedisSnapshotStoreTest, GarbageInRedisIsAnErrorForTheCacheOnly) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis);
  ASSERT_TRUE(ReadAll(*a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages).status.ok());
  const std::string snapshot = KeyStartingWith(*redis, "pcusage:snapshot:");
  ASSERT_FALSE(snapshot.empty());
  std::string garbled = *redis->Peek(snapshot);
  garbled.resize(garbled.size() - 3);
  redis->Put(snapshot, garbled, absl::Minutes(5));
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis);
  const ReadOut out = ReadAll(*b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages);
  EXPECT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.ids, AllIds());
  EXPECT_EQ(upstream.walks(), 2);  // B walked on its own
}

TEST(RedisSnapshotStoreTest, ALockRenewedWhileItsWalkRunsKeepsOthersWaiting) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  upstream.gated = true;
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis);
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis);
  OpenedSnapshot walking = a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  OpenedSnapshot waiting = b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  absl::SleepFor(absl::Milliseconds(1000));  // more than three lock TTLs
  EXPECT_EQ(upstream.walks(), 1);
  upstream.open.Notify();
  EXPECT_EQ(ReadAll(*waiting.pages).ids, AllIds());
  EXPECT_EQ(ReadAll(*walking.pages).ids, AllIds());
  EXPECT_EQ(upstream.walks(), 1);
}

TEST(RedisSnapshotStoreTest, AWalkerThatDiedLosesItsLockAndAWaiterWalks) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis);
  // B walks and publishes once, which names the identity's keys; then a replica that took the lock and died:
  // nobody renews it.
  ASSERT_TRUE(ReadAll(*b->Open(kIdentity, absl::ZeroDuration(), upstream.Starter(), {}).pages).status.ok());
  const std::string snapshot = KeyStartingWith(*redis, "pcusage:snapshot:");
  const std::string lock = absl::StrCat("pcusage:walk:", snapshot.substr(std::string("pcusage:snapshot:").size()));
  redis->Erase(snapshot);
  redis->Put(lock, absl::StrCat("99:", absl::ToUnixNanos(absl::Now())), absl::Milliseconds(300));
  std::unique_ptr<RedisSnapshotStore> c = Replica(redis);
  OpenedSnapshot waiting = c->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  const ReadOut out = ReadAll(*waiting.pages);
  EXPECT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.ids, AllIds());
  EXPECT_EQ(upstream.walks(), 2);  // B's first walk, and C's after the dead lock expired
  // C published its walk under the name its callers' tokens carry: they continue inside it on any replica.
  ASSERT_EQ(DecodeSnapshotHeader(*redis->Peek(snapshot))->snapshot_id, waiting.snapshot_id);
  ExpectContinuesInside(*Replica(redis), kIdentity, waiting.snapshot_id, 1);
  EXPECT_EQ(upstream.walks(), 2);
}

TEST(RedisSnapshotStoreTest, AFailedWalkReleasesItsLockAndPublishesNothing) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream(absl::UnavailableError("Partner Center is down"));
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis);
  const ReadOut out = ReadAll(*a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages);
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(KeyStartingWith(*redis, "pcusage:walk:"), "");
  EXPECT_EQ(KeyStartingWith(*redis, "pcusage:snapshot:"), "");
}

TEST(RedisSnapshotStoreTest, ASnapshotOverTheBoundLeavesAMarkerAndOthersWalkOnTheirOwn) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  RedisStoreOptions options = FastOptions();
  options.max_snapshot_bytes = 200;
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis, options);
  EXPECT_EQ(ReadAll(*a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages).ids, AllIds());
  const std::string snapshot = KeyStartingWith(*redis, "pcusage:snapshot:");
  ASSERT_FALSE(snapshot.empty());
  EXPECT_TRUE(DecodeSnapshotHeader(*redis->Peek(snapshot))->too_large);
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis, options);
  EXPECT_EQ(ReadAll(*b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages).ids, AllIds());
  EXPECT_EQ(upstream.walks(), 2);
}

TEST(RedisSnapshotStoreTest, RedisDownServesFromTheReplicaAloneAndIsNotAskedAgainForAWhile) {
  auto redis = std::make_shared<FakeRedisClient>();
  redis->SetDown(true);
  Upstream upstream;
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis);
  OpenedSnapshot first = a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  const ReadOut out = ReadAll(*first.pages);
  EXPECT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.ids, AllIds());
  EXPECT_EQ(upstream.walks(), 1);
  const int commands = redis->commands();
  // Within retry_after_failure, a zero-staleness call (which always walks) does not ask Redis.
  OpenedSnapshot second = a->Open(kIdentity, absl::ZeroDuration(), upstream.Starter(), {});
  EXPECT_EQ(ReadAll(*second.pages).ids, AllIds());
  EXPECT_EQ(redis->commands(), commands);
  EXPECT_EQ(upstream.walks(), 2);
}

// Resume tokens from a stream on one replica, resumed on another that does not hold the snapshot they name.

// A stream on `replica` that read the first `pages` pages of the snapshot Redis holds (a walk, published, then a
// call served from it) and went away; its next resume token names the snapshot and page `pages`.
struct ReadSome {
  std::string snapshot_id;
  absl::Time snapshot_time;
  std::vector<std::string> ids;
  std::vector<std::string> positions;
};
ReadSome ReadPages(RedisSnapshotStore& replica, const std::string& identity, int pages, Upstream& upstream) {
  EXPECT_TRUE(ReadAll(*replica.Open(identity, absl::Minutes(5), upstream.Starter(), {}).pages).status.ok());
  OpenedSnapshot opened = replica.Open(identity, absl::Minutes(5), upstream.Starter(), {});
  ReadOut out = ReadPagesOf(*opened.pages, pages);
  ReadSome read{opened.snapshot_id, opened.snapshot_time, std::move(out.ids), std::move(out.positions)};
  return read;
}

// Replicas A and B sharing one Redis in front of one upstream.
class ResumeAcrossReplicasTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeRedisClient> redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis);
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis);
};

TEST_F(ResumeAcrossReplicasTest, ATokenFromAnotherReplicaContinuesInsideTheSnapshotRedisHolds) {
  const ReadSome first = ReadPages(*a, kIdentity, 2, upstream);
  ASSERT_EQ(first.ids, IdsOfPages(0, 2));

  std::optional<OpenedSnapshot> resumed = b->Resume(kIdentity, first.snapshot_id, 2, {});
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->snapshot_id, first.snapshot_id);
  EXPECT_EQ(resumed->snapshot_time, first.snapshot_time);
  const ReadOut rest = ReadAll(*resumed->pages);
  EXPECT_TRUE(rest.status.ok()) << rest.status;
  std::vector<std::string> both = first.ids;
  both.insert(both.end(), rest.ids.begin(), rest.ids.end());
  EXPECT_EQ(both, AllIds());  // every record once, in order
  std::vector<std::string> positions = first.positions;
  positions.insert(positions.end(), rest.positions.begin(), rest.positions.end());
  EXPECT_EQ(positions, ReadAll(*a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages).positions);
  EXPECT_EQ(upstream.walks(), 1);
  EXPECT_EQ(b->stats().resumes, 1);
  EXPECT_EQ(b->stats().walks, 0);

  // A token that points past the last page, or before the first, is no place in it.
  EXPECT_FALSE(b->Resume(kIdentity, first.snapshot_id, kPages + 1, {}).has_value());
  EXPECT_FALSE(b->Resume(kIdentity, first.snapshot_id, -1, {}).has_value());
}

TEST_F(ResumeAcrossReplicasTest, ATokenOfACallThatWaitedForAnotherReplicasWalkContinuesElsewhere) {
  upstream.gated = true;
  OpenedSnapshot walking = a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  OpenedSnapshot waiting = b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  ASSERT_NE(waiting.snapshot_id, walking.snapshot_id);  // named before the walk it waits for ended
  upstream.open.Notify();
  ASSERT_TRUE(ReadAll(*walking.pages).status.ok());
  // B's caller reads two pages of the snapshot B was served, then goes away.
  std::vector<std::string> first;
  for (int p = 0; p < 2; ++p) {
    absl::StatusOr<std::optional<FetchedPage>> page = waiting.pages->Next();
    ASSERT_TRUE(page.ok() && page->has_value());
    for (std::size_t i = 0; i < (*page)->page.records.size(); ++i) {
      first.emplace_back((*page)->page.records.ResourceId(i));
    }
  }
  EXPECT_EQ(first, IdsOfPages(0, 2));
  // B's walk writes the alias when it reaches the followed walk's end, on its own thread: another caller on B that
  // reads the snapshot to its end has seen that happen.
  EXPECT_EQ(ReadAll(*b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages).ids, AllIds());
  const std::string alias = KeyStartingWith(*redis, "pcusage:alias:");
  EXPECT_TRUE(absl::EndsWith(alias, ":" + waiting.snapshot_id)) << alias;
  EXPECT_EQ(redis->Peek(alias), walking.snapshot_id);

  // A third replica continues inside the published snapshot with B's token: every record once, no walk.
  std::unique_ptr<RedisSnapshotStore> c = Replica(redis);
  std::optional<OpenedSnapshot> resumed = c->Resume(kIdentity, waiting.snapshot_id, 2, {});
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->snapshot_id, walking.snapshot_id);
  const ReadOut rest = ReadAll(*resumed->pages);
  EXPECT_TRUE(rest.status.ok()) << rest.status;
  EXPECT_EQ(rest.ids, IdsOfPages(2));
  EXPECT_EQ(upstream.walks(), 1);

  // Once the identity's snapshot in Redis is a newer walk, the alias names a snapshot no longer there: fall back.
  OpenedSnapshot fresh = a->Open(kIdentity, absl::ZeroDuration(), upstream.Starter(), {});
  ASSERT_TRUE(ReadAll(*fresh.pages).status.ok());
  std::unique_ptr<RedisSnapshotStore> d = Replica(redis);
  EXPECT_FALSE(d->Resume(kIdentity, waiting.snapshot_id, 2, {}).has_value());
}

TEST_F(ResumeAcrossReplicasTest, ANewerSnapshotOfTheIdentityInRedisIsNotResumedInto) {
  const ReadSome first = ReadPages(*a, kIdentity, 1, upstream);
  // A call asking for a fresh list walks again, on A, and its snapshot replaces the first in Redis.
  OpenedSnapshot fresh = a->Open(kIdentity, absl::ZeroDuration(), upstream.Starter(), {});
  ASSERT_TRUE(ReadAll(*fresh.pages).status.ok());
  ASSERT_NE(fresh.snapshot_id, first.snapshot_id);
  EXPECT_EQ(upstream.walks(), 2);
  const std::string snapshot = KeyStartingWith(*redis, "pcusage:snapshot:");
  ASSERT_EQ(DecodeSnapshotHeader(*redis->Peek(snapshot))->snapshot_id, fresh.snapshot_id);

  const int gets_before = redis->Gets(snapshot);
  EXPECT_FALSE(b->Resume(kIdentity, first.snapshot_id, 1, {}).has_value());  // the caller falls back
  EXPECT_EQ(redis->Gets(snapshot), gets_before);  // having read only the newer snapshot's header
  ExpectContinuesInside(*b, kIdentity, fresh.snapshot_id, 1);
  EXPECT_EQ(upstream.walks(), 2);
}

TEST_F(ResumeAcrossReplicasTest, ASnapshotIsNeverResumedIntoForAnotherIdentity) {
  const std::string alice = BearerTokenIdentity("alice's token");
  const std::string mallory = BearerTokenIdentity("mallory's token");
  const ReadSome alices = ReadPages(*a, alice, 1, upstream);
  // Mallory with Alice's snapshot id (a token that names it can only be Mallory's own: tokens are bound to their
  // caller; here the id is simply given): not on the replica holding it, not from Redis, not even once Mallory has
  // a snapshot of her own there.
  EXPECT_FALSE(a->Resume(mallory, alices.snapshot_id, 1, {}).has_value());
  EXPECT_FALSE(b->Resume(mallory, alices.snapshot_id, 1, {}).has_value());
  ASSERT_TRUE(ReadAll(*b->Open(mallory, absl::Minutes(5), upstream.Starter(), {}).pages).status.ok());
  EXPECT_FALSE(b->Resume(mallory, alices.snapshot_id, 1, {}).has_value());
  EXPECT_EQ(b->stats().resumes, 0);
  // Alice herself continues on B.
  ExpectContinuesInside(*b, alice, alices.snapshot_id, 1);
}

TEST_F(ResumeAcrossReplicasTest, RedisDownOrGarbledWhenResumingFallsBackAndIsNotAskedAgainForAWhile) {
  const ReadSome first = ReadPages(*a, kIdentity, 1, upstream);
  redis->SetDown(true);
  EXPECT_FALSE(b->Resume(kIdentity, first.snapshot_id, 1, {}).has_value());
  const int commands = redis->commands();
  redis->SetDown(false);
  EXPECT_FALSE(b->Resume(kIdentity, first.snapshot_id, 1, {}).has_value());  // within retry_after_failure
  EXPECT_EQ(redis->commands(), commands);

  const std::string snapshot = KeyStartingWith(*redis, "pcusage:snapshot:");
  std::string garbled = *redis->Peek(snapshot);
  garbled.resize(garbled.size() - 3);
  redis->Put(snapshot, garbled, absl::Minutes(5));
  std::unique_ptr<RedisSnapshotStore> c = Replica(redis);
  EXPECT_FALSE(c->Resume(kIdentity, first.snapshot_id, 1, {}).has_value());
  EXPECT_EQ(upstream.walks(), 1);
}

// Following another replica's walk live. Unless a test says otherwise, the follower's call gives no ContinueWalk, so
// a follower that passed pages on and loses the walk ends UNAVAILABLE; pcusage_server's calls always give one
// (AFollowerThatCanWalkOnLosesNoCallWhenTheWalkerDiesOrRedisFails).

// Opens the gate after a while should a test hang on it (which then fails).
class Watchdog {
 public:
  explicit Watchdog(Upstream& upstream)
      : thread_([this, &upstream] {
          if (!done_.WaitForNotificationWithTimeout(absl::Seconds(20))) {
            fired_ = true;
            if (!upstream.open.HasBeenNotified()) upstream.open.Notify();
          }
        }) {}
  ~Watchdog() {
    done_.Notify();
    thread_.join();
  }
  bool fired() const { return fired_.load(); }

 private:
  absl::Notification done_;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

// The identity's keys (from a walk published once, then removed) and the hash they share.
std::string IdentityHash(const std::shared_ptr<FakeRedisClient>& redis, Upstream& upstream) {
  std::unique_ptr<RedisSnapshotStore> first = Replica(redis);
  EXPECT_TRUE(ReadAll(*first->Open(kIdentity, absl::ZeroDuration(), upstream.Starter(), {}).pages).status.ok());
  const std::string snapshot = KeyStartingWith(*redis, "pcusage:snapshot:");
  redis->Erase(snapshot);
  return snapshot.substr(std::string("pcusage:snapshot:").size());
}

// A replica took the identity's lock (fencing token 77), appended two pages to its live stream, and died: nobody
// renews the lock, which expires 300 ms from now.
void DiedAfterTwoPages(FakeRedisClient& redis, const std::string& hash) {
  const std::string lock = absl::StrCat("77:", absl::ToUnixNanos(absl::Now()), ":dead");
  redis.Put("pcusage:walk:" + hash, lock, absl::Milliseconds(300));
  SnapshotEncoder encoder("dead", absl::Now());
  const std::string live = absl::StrCat("pcusage:live:", hash, ":", lock);
  for (int p = 0; p < 2; ++p) {
    ASSERT_TRUE(redis.StreamAppend(live, EncodeLivePage(encoder.Add(MakePage(p))), absl::Seconds(10)).ok());
  }
}

// Replica A walking for `upstream` (held before its page `gate_at` until `open`) and replica B following that walk,
// sharing one fake Redis.
struct Following {
  // With `continue_walk`, B's call says how to walk on from a page (as every pcusage call does).
  explicit Following(int gate_at, const RedisStoreOptions& options = FastOptions(), absl::Status end = absl::OkStatus(),
                     int fail_at = kPages, bool continue_walk = false)
      : upstream(std::move(end)) {
    upstream.gated = true;
    upstream.gate_at = gate_at;
    upstream.fail_at = fail_at;
    a = Replica(redis, options);
    b = Replica(redis, options);
    walking = a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
    ReaderContext context;
    if (continue_walk) context.continue_walk = upstream.Continuer();
    following = b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), std::move(context));
  }

  std::shared_ptr<FakeRedisClient> redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  Watchdog watchdog{upstream};
  std::unique_ptr<RedisSnapshotStore> a;
  std::unique_ptr<RedisSnapshotStore> b;
  OpenedSnapshot walking;
  OpenedSnapshot following;
};

TEST(FollowLiveTest, AFollowerReceivesPagesWhileTheWalkRuns) {
  Following live(2);
  // Two pages on B while A's walk is held before its third.
  EXPECT_EQ(ReadPagesOf(*live.following.pages, 2).ids, IdsOfPages(0, 2));
  EXPECT_FALSE(live.upstream.open.HasBeenNotified());
  live.upstream.open.Notify();
  const ReadOut rest = ReadAll(*live.following.pages);
  EXPECT_TRUE(rest.status.ok()) << rest.status;
  EXPECT_EQ(rest.ids, IdsOfPages(2));
  const ReadOut from_a = ReadAll(*live.walking.pages);
  EXPECT_EQ(from_a.ids, AllIds());
  EXPECT_EQ(live.upstream.walks(), 1);
  EXPECT_FALSE(live.watchdog.fired());
  // B's name for the walk continues inside the published snapshot on any replica.
  EXPECT_EQ(live.redis->Peek(KeyStartingWith(*live.redis, "pcusage:alias:")), live.walking.snapshot_id);
  std::unique_ptr<RedisSnapshotStore> c = Replica(live.redis);
  std::optional<OpenedSnapshot> resumed = c->Resume(kIdentity, live.following.snapshot_id, 3, {});
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->snapshot_id, live.walking.snapshot_id);
  EXPECT_EQ(ReadAll(*resumed->pages).ids, IdsOfPages(3));
  // A later caller on B reads the very pages and positions A's caller read.
  EXPECT_EQ(ReadAll(*live.b->Open(kIdentity, absl::Minutes(5), live.upstream.Starter(), {}).pages).positions,
            from_a.positions);
  EXPECT_EQ(live.upstream.walks(), 1);
}

// The end of a follower that received pages 0 and 1: UNAVAILABLE, SHARED_WALK_INTERRUPTED for `cause`, no page
// more.
void ExpectInterruptedAfterTwoPages(PageSource& following, absl::string_view cause) {
  const ReadOut rest = ReadAll(following);
  EXPECT_TRUE(rest.ids.empty());
  EXPECT_EQ(rest.status.code(), absl::StatusCode::kUnavailable);
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(rest.status);
  ASSERT_TRUE(info.has_value()) << rest.status;
  EXPECT_EQ(info->reason(), "SHARED_WALK_INTERRUPTED");
  EXPECT_EQ(info->metadata().at("cause"), cause);
}

TEST(FollowLiveTest, AWalkThatFailsEndsItsFollowersUnavailableAfterThePagesBefore) {
  Following live(2, FastOptions(),
                 WithErrorInfo(absl::UnavailableError("Partner Center answered 503 with secret text"),
                               reason::kPartnerCenterUnavailable),
                 2);
  EXPECT_EQ(ReadPagesOf(*live.following.pages, 2).ids, IdsOfPages(0, 2));
  live.upstream.open.Notify();
  absl::StatusOr<std::optional<FetchedPage>> end = live.following.pages->Next();
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(GetErrorInfo(end.status())->metadata().at("walker_reason"), reason::kPartnerCenterUnavailable);
  EXPECT_EQ(end.status().message().find("secret"), absl::string_view::npos) << end.status();
  ExpectInterruptedAfterTwoPages(*live.following.pages, "walk_failed");
  EXPECT_EQ(ReadAll(*live.walking.pages).status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(live.upstream.walks(), 1);
}

TEST(FollowLiveTest, AWalkerThatDiesEndsFollowersWithPagesUnavailableAndOthersTakeOver) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  const std::string hash = IdentityHash(redis, upstream);
  DiedAfterTwoPages(*redis, hash);
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis);
  OpenedSnapshot following = b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  EXPECT_EQ(ReadPagesOf(*following.pages, 2).ids, IdsOfPages(0, 2));
  ExpectInterruptedAfterTwoPages(*following.pages, "walk_lost");
  EXPECT_EQ(upstream.walks(), 1);  // IdentityHash's only

  // Dead again, before any page: a follower takes the lock over once it expires, and serves every record.
  redis->Put("pcusage:walk:" + hash, absl::StrCat("78:", absl::ToUnixNanos(absl::Now())), absl::Milliseconds(300));
  std::unique_ptr<RedisSnapshotStore> c = Replica(redis);
  OpenedSnapshot taken = c->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  const ReadOut all = ReadAll(*taken.pages);
  EXPECT_TRUE(all.status.ok()) << all.status;
  EXPECT_EQ(all.ids, AllIds());
  EXPECT_EQ(upstream.walks(), 2);
  ASSERT_TRUE(redis->Peek("pcusage:snapshot:" + hash).has_value());
  EXPECT_EQ(DecodeSnapshotHeader(*redis->Peek("pcusage:snapshot:" + hash))->snapshot_id, taken.snapshot_id);
}

// B's callers get every record, and A's: two walks.
void ExpectBothServedByTwoWalks(Following& live) {
  live.upstream.open.Notify();
  const ReadOut out = ReadAll(*live.following.pages);
  EXPECT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.ids, AllIds());
  EXPECT_EQ(ReadAll(*live.walking.pages).ids, AllIds());
  EXPECT_EQ(live.upstream.walks(), 2);
}

TEST(FollowLiveTest, AWalkPastTheBoundStopsItsStream) {
  SnapshotEncoder two(std::string(24, 'x'), absl::Now());  // as long as NewSnapshotId()
  two.Add(MakePage(0));
  two.Add(MakePage(1));
  RedisStoreOptions options = FastOptions();
  options.max_snapshot_bytes = two.encoded_size();
  {
    // Followers that received pages end UNAVAILABLE after them.
    Following live(3, options);
    EXPECT_EQ(ReadPagesOf(*live.following.pages, 2).ids, IdsOfPages(0, 2));
    live.upstream.open.Notify();
    ExpectInterruptedAfterTwoPages(*live.following.pages, "too_large");
    EXPECT_EQ(ReadAll(*live.walking.pages).ids, AllIds());
    EXPECT_EQ(live.upstream.walks(), 1);
  }
  // Over the bound at its first page: followers, with nothing received, walk on their own.
  options.max_snapshot_bytes = 200;
  Following live(1, options);
  ExpectBothServedByTwoWalks(live);
}

TEST(FollowLiveTest, RedisDownMidFollowEndsAFollowerWithPagesUnavailableAndOneWithoutWalks) {
  {
    Following live(2);
    EXPECT_EQ(ReadPagesOf(*live.following.pages, 2).ids, IdsOfPages(0, 2));
    live.redis->SetDown(true);
    ExpectInterruptedAfterTwoPages(*live.following.pages, "redis_unavailable");
    live.upstream.open.Notify();
    const ReadOut from_a = ReadAll(*live.walking.pages);  // the walker's own callers are served
    EXPECT_TRUE(from_a.status.ok()) << from_a.status;
    EXPECT_EQ(from_a.ids, AllIds());
  }
  Following live(0);
  live.redis->SetDown(true);
  ExpectBothServedByTwoWalks(live);
}

TEST(FollowLiveTest, AFollowerThatCanWalkOnLosesNoCallWhenTheWalkerDiesOrRedisFails) {
  metrics::Counter& walked_on = metrics::Pcusage().snapshot_redis->Labels({"walked_on"});
  const double walked_on_before = walked_on.value();
  {
    // The walker died after two pages: the follower walks on from the third, every record once, in order.
    auto redis = std::make_shared<FakeRedisClient>();
    Upstream upstream;
    const std::string hash = IdentityHash(redis, upstream);
    DiedAfterTwoPages(*redis, hash);
    std::unique_ptr<RedisSnapshotStore> b = Replica(redis);
    ReaderContext context;
    context.continue_walk = upstream.Continuer();
    OpenedSnapshot following = b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), std::move(context));
    const ReadOut all = ReadAll(*following.pages);
    EXPECT_TRUE(all.status.ok()) << all.status;
    EXPECT_EQ(all.ids, AllIds());
    EXPECT_EQ(all.positions.size(), static_cast<std::size_t>(kPages));
    EXPECT_EQ(upstream.continued(), 1);
    EXPECT_EQ(upstream.walks(), 1);  // IdentityHash's only
    // Its snapshot numbers the pages on, so a later caller on B and a resume read the same pages.
    EXPECT_EQ(ReadAll(*b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages).ids, AllIds());
    ExpectContinuesInside(*b, kIdentity, following.snapshot_id, 3);
  }
  // Redis fails after two pages: the same, and the walker's own callers are served too.
  Following live(2, FastOptions(), absl::OkStatus(), kPages, /*continue_walk=*/true);
  EXPECT_EQ(ReadPagesOf(*live.following.pages, 2).ids, IdsOfPages(0, 2));
  live.redis->SetDown(true);
  live.upstream.open.Notify();
  const ReadOut rest = ReadAll(*live.following.pages);
  EXPECT_TRUE(rest.status.ok()) << rest.status;
  EXPECT_EQ(rest.ids, IdsOfPages(2));
  EXPECT_EQ(ReadAll(*live.walking.pages).ids, AllIds());
  EXPECT_EQ(live.upstream.continued(), 1);
  EXPECT_EQ(live.upstream.walks(), 1);
  EXPECT_EQ(walked_on.value(), walked_on_before + 2);
}

TEST(FollowLiveTest, AFollowerBlockedOnTheStreamStopsPromptlyWhenCancelled) {
  RedisStoreOptions options = FastOptions();
  options.poll_interval = absl::Milliseconds(200);
  Following live(0, options);
  absl::SleepFor(absl::Milliseconds(300));  // B's walk now waits on the stream
  const absl::Time start = absl::Now();
  live.following.pages.reset();
  live.b.reset();  // cancels B's walk and joins it
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  live.upstream.open.Notify();
  EXPECT_EQ(ReadAll(*live.walking.pages).ids, AllIds());
}

// A walk's live stream is its own: when a Redis restart hands a walk's fencing token to another walk, the first
// walk's pages and end never reach the other's followers, and that walker, its lock gone, appends nothing more.
TEST(FollowLiveTest, AFencingTokenReusedAfterARedisRestartLosesNoRecords) {
  RedisStoreOptions options = FastOptions();
  options.lock_ttl = absl::Milliseconds(1500);  // renewed every 500 ms; streams outlive the test's waits
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream first;
  const std::string hash = IdentityHash(redis, first);  // fencing token 1
  // A walks with token 2 and has appended every page; its end waits.
  Upstream upstream_a;
  upstream_a.gated = true;
  upstream_a.gate_at = kPages;
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis, options);
  OpenedSnapshot walking_a = a->Open(kIdentity, absl::Minutes(5), upstream_a.Starter(), {});
  EXPECT_EQ(ReadPagesOf(*walking_a.pages, kPages).ids, AllIds());
  // Redis restarts; another walk takes token 1, and C's walk token 2 again.
  redis->Restart();
  ASSERT_EQ(*redis->Increment("pcusage:fence:" + hash), 1);
  Upstream upstream_c;
  upstream_c.gated = true;
  upstream_c.gate_at = 2;
  std::unique_ptr<RedisSnapshotStore> c = Replica(redis, options);
  OpenedSnapshot walking_c = c->Open(kIdentity, absl::Minutes(5), upstream_c.Starter(), {});
  // D follows C's walk and passes on its first two pages.
  std::unique_ptr<RedisSnapshotStore> d = Replica(redis, options);
  ReaderContext context;
  context.continue_walk = upstream_c.Continuer();
  OpenedSnapshot following = d->Open(kIdentity, absl::Minutes(5), upstream_c.Starter(), std::move(context));
  EXPECT_EQ(ReadPagesOf(*following.pages, 2).ids, IdsOfPages(0, 2));
  // A's lock renewal finds the lock gone; then A's walk ends: it appends nothing (only C's stream lives).
  absl::SleepFor(absl::Milliseconds(600));
  upstream_a.open.Notify();
  EXPECT_EQ(ReadAll(*walking_a.pages).ids, std::vector<std::string>());
  absl::SleepFor(absl::Milliseconds(100));  // D would read an entry A appended
  int live_streams = 0;
  for (const std::string& key : redis->Keys()) live_streams += absl::StartsWith(key, "pcusage:live:") ? 1 : 0;
  EXPECT_EQ(live_streams, 1);
  upstream_c.open.Notify();
  const ReadOut rest = ReadAll(*following.pages);
  EXPECT_TRUE(rest.status.ok()) << rest.status;
  EXPECT_EQ(rest.ids, IdsOfPages(2));
  EXPECT_EQ(ReadAll(*walking_c.pages).ids, AllIds());
  EXPECT_EQ(upstream_c.continued(), 0);
  EXPECT_EQ(upstream_c.walks(), 1);
}

// A caller of the walking replica that stops reading holds that walk (over its cache bound), but not the followers
// on other replicas: once nothing new comes for max_wait while the lock is held, they walk on themselves.
TEST(FollowLiveTest, AStuckCallerOnTheWalkingReplicaDoesNotStallFollowersElsewhere) {
  metrics::Counter& stalled = metrics::Pcusage().snapshot_redis->Labels({"stalled"});
  const double stalled_before = stalled.value();
  // By default a follower gives up on a stalled walk within minutes, not the hour of --max_call_duration.
  EXPECT_LE(RedisStoreOptions().max_wait, absl::Minutes(10));
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  RedisStoreOptions options = FastOptions();
  options.max_wait = absl::Milliseconds(500);
  SnapshotOptions one_byte;
  one_byte.cache_bytes = 1;
  auto a = std::make_unique<RedisSnapshotStore>(redis, options, one_byte);
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis, options);
  OpenedSnapshot walking = a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  EXPECT_EQ(ReadPagesOf(*walking.pages, 1).ids, IdsOfPages(0, 1));  // and its caller reads no more
  ReaderContext context;
  context.continue_walk = upstream.Continuer();
  context.deadline = absl::Now() + absl::Seconds(5);
  const absl::Time start = absl::Now();
  OpenedSnapshot following = b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), std::move(context));
  const ReadOut all = ReadAll(*following.pages);
  EXPECT_TRUE(all.status.ok()) << all.status;
  EXPECT_EQ(all.ids, AllIds());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(upstream.continued(), 1);
  EXPECT_EQ(stalled.value(), stalled_before + 1);
}

// The fencing counter expires like every key pcusage writes.
TEST(RedisSnapshotStoreTest, TheFenceKeyExpires) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  const std::string hash = IdentityHash(redis, upstream);
  const std::optional<absl::Duration> ttl = redis->Ttl("pcusage:fence:" + hash);
  ASSERT_TRUE(ttl.has_value());
  EXPECT_LE(*ttl, FastOptions().snapshot_ttl + FastOptions().lock_ttl);
}

// Calls of one replica that want the same snapshot from Redis at once share one GET (and one decoded copy).
TEST(RedisSnapshotStoreTest, ConcurrentCallsFetchASnapshotFromRedisOnce) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis);
  EXPECT_TRUE(ReadAll(*a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages).status.ok());
  const std::string snapshot = KeyStartingWith(*redis, "pcusage:snapshot:");
  const int gets_before = redis->Gets(snapshot);
  redis->SetGetDelay(absl::Milliseconds(200));
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis);
  constexpr int kCalls = 8;
  std::vector<ReadOut> outs(kCalls);
  std::vector<std::thread> calls;
  calls.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    calls.emplace_back(
        [&, i] { outs[i] = ReadAll(*b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages); });
  }
  for (std::thread& call : calls) call.join();
  for (const ReadOut& out : outs) {
    EXPECT_TRUE(out.status.ok()) << out.status;
    EXPECT_EQ(out.ids, AllIds());
  }
  EXPECT_EQ(redis->Gets(snapshot), gets_before + 1);
  EXPECT_EQ(upstream.walks(), 1);
}

// A walk whose pages' bytes fit the bound but not with the snapshot's header: Redis never answers a follower or a
// reader more than the bound (max_reply_bytes), so no replica finds Redis failing, and every call gets every record.
TEST(FollowLiveTest, ASnapshotJustUnderTheBoundIsNeverUnreadable) {
  metrics::Counter& unavailable = metrics::Pcusage().snapshot_redis->Labels({"unavailable"});
  const double unavailable_before = unavailable.value();
  SnapshotEncoder pages("x", absl::Now());
  for (int p = 0; p < kPages; ++p) pages.Add(MakePage(p));
  EXPECT_EQ(pages.encoded_size(), pages.Encoded().size());
  RedisStoreOptions options = FastOptions();
  options.max_snapshot_bytes = pages.size() + 1;
  auto redis = std::make_shared<FakeRedisClient>();
  redis->SetMaxReplyBytes(options.max_snapshot_bytes);
  Upstream upstream;
  upstream.gated = true;
  upstream.gate_at = kPages;
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis, options);
  OpenedSnapshot walking = a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  EXPECT_EQ(ReadPagesOf(*walking.pages, kPages).ids, AllIds());  // every page appended before B reads any
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis, options);
  ReaderContext context;
  context.continue_walk = upstream.Continuer();
  OpenedSnapshot following = b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), std::move(context));
  absl::SleepFor(absl::Milliseconds(100));
  upstream.open.Notify();
  const ReadOut from_b = ReadAll(*following.pages);
  EXPECT_TRUE(from_b.status.ok()) << from_b.status;
  EXPECT_EQ(from_b.ids, AllIds());
  EXPECT_TRUE(ReadAll(*walking.pages).status.ok());
  std::unique_ptr<RedisSnapshotStore> c = Replica(redis, options);
  const ReadOut from_c = ReadAll(*c->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {}).pages);
  EXPECT_TRUE(from_c.status.ok()) << from_c.status;
  EXPECT_EQ(from_c.ids, AllIds());
  EXPECT_EQ(unavailable.value(), unavailable_before);
}

// A follower whose walk-on fails ends with the walk-on's error, not with the lost walk's.
TEST(FollowLiveTest, AFollowerWhoseWalkOnFailsEndsWithItsError) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream(
      WithErrorInfo(absl::UnavailableError("Partner Center answered 503"), reason::kPartnerCenterUnavailable));
  upstream.gated = true;
  upstream.gate_at = 2;
  upstream.fail_at = 2;
  std::unique_ptr<RedisSnapshotStore> a = Replica(redis);
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis);
  OpenedSnapshot walking = a->Open(kIdentity, absl::Minutes(5), upstream.Starter(), {});
  ReaderContext context;
  context.continue_walk = [](const partner_center::PagePosition&, int64_t,
                             absl::Time) -> absl::StatusOr<std::unique_ptr<PageSource>> {
    return absl::PermissionDeniedError("the walk-on was refused");
  };
  OpenedSnapshot following = b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), std::move(context));
  EXPECT_EQ(ReadPagesOf(*following.pages, 2).ids, IdsOfPages(0, 2));
  upstream.open.Notify();
  const ReadOut rest = ReadAll(*following.pages);
  EXPECT_TRUE(rest.ids.empty());
  EXPECT_EQ(rest.status, absl::PermissionDeniedError("the walk-on was refused"));
  EXPECT_FALSE(ReadAll(*walking.pages).status.ok());
}

// A walk-on continues the walk it follows: its deadline counts from that walk's start, which the store passes on.
TEST(FollowLiveTest, AWalkOnIsToldTheStartOfTheWalkItContinues) {
  auto redis = std::make_shared<FakeRedisClient>();
  Upstream upstream;
  const std::string hash = IdentityHash(redis, upstream);
  DiedAfterTwoPages(*redis, hash);
  absl::SleepFor(absl::Milliseconds(50));  // the walk started before the follower's call
  std::unique_ptr<RedisSnapshotStore> b = Replica(redis);
  ReaderContext context;
  context.continue_walk = upstream.Continuer();
  OpenedSnapshot following = b->Open(kIdentity, absl::Minutes(5), upstream.Starter(), std::move(context));
  EXPECT_EQ(ReadAll(*following.pages).ids, AllIds());
  EXPECT_EQ(upstream.continued(), 1);
  EXPECT_EQ(upstream.walk_started(), following.snapshot_time);  // the dead walker's lock's start
  EXPECT_LT(upstream.walk_started(), absl::Now() - absl::Milliseconds(50));
}

TEST(SnapshotCodecTest, LiveEntriesRoundTripAndGarbageIsDataLoss) {
  SnapshotEncoder encoder("id", absl::Now());
  const std::string page = EncodeLivePage(encoder.Add(MakePage(2)));
  absl::StatusOr<LiveEntry> decoded = DecodeLiveEntry(page);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->kind, LiveEntry::Kind::kPage);
  EXPECT_EQ(decoded->page.index_in_walk, 2);
  EXPECT_EQ(decoded->page.page.records.Entries(0, kRecordsPerPage),
            MakePage(2).page.records.Entries(0, kRecordsPerPage));
  EXPECT_EQ(decoded->page.position.headers, MakePage(2).position.headers);
  decoded = DecodeLiveEntry(EncodeLiveEnd("0123abcd", 4));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->kind, LiveEntry::Kind::kEnd);
  EXPECT_EQ(decoded->snapshot_id, "0123abcd");
  EXPECT_EQ(decoded->pages, 4);
  // The previous version's entries (no page count) do not decode: a follower takes them for a lost walk.
  EXPECT_EQ(DecodeLiveEntry(absl::StrCat("pcusage-live/1E", std::string("\x08\0\0\0\0\0\0\0", 8), "0123abcd"))
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  decoded = DecodeLiveEntry(EncodeLiveFailed(absl::StatusCode::kUnavailable, "PARTNER_CENTER_UNAVAILABLE"));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->kind, LiveEntry::Kind::kFailed);
  EXPECT_EQ(decoded->code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(decoded->reason, "PARTNER_CENTER_UNAVAILABLE");
  EXPECT_EQ(DecodeLiveEntry(EncodeLiveStopped())->kind, LiveEntry::Kind::kStopped);
  for (std::size_t size = 0; size < page.size(); ++size) {
    EXPECT_FALSE(DecodeLiveEntry(page.substr(0, size)).ok()) << size;
  }
  EXPECT_EQ(DecodeLiveEntry("garbage").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(DecodeLiveEntry(page + "x").ok());
}

}  // namespace
}  // namespace pcusage::snapshots
