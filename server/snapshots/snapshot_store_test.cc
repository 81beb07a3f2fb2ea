#include "server/snapshots/snapshot_store.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"

namespace pcusage::snapshots {
namespace {

using partner_center::FetchedPage;
using partner_center::PageSource;

constexpr int kRecordsPerPage = 3;

// A page of walk `walk`: records whose resource ids say which walk and page they came from.
FetchedPage MakePage(int walk, int index) {
  FetchedPage page;
  for (int i = 0; i < kRecordsPerPage; ++i) {
    partner_center::PageRecords::Record record;
    record.set_resource_id(absl::StrCat("w", walk, "-p", index, "-r", i));
    record.set_name(std::string(100, 'x'));
    page.page.records.Append(record);
  }
  page.position.page_number = index + 1;
  page.index_in_walk = index;
  return page;
}

std::size_t PageBytes() { return MakePage(0, 0).page.records.bytes(); }

// Partner Center as the walks see it: each walk serves `pages` pages, each only once the test released it (or at
// once when `gated` is false), then ends with `end`. Counts the walks started.
class FakeUpstream {
 public:
  FakeUpstream(int pages, bool gated, absl::Status end = absl::OkStatus())
      : pages_(pages), gated_(gated), end_(std::move(end)) {}

  SnapshotStore::StartWalk Starter() {
    return [this]() -> absl::StatusOr<std::unique_ptr<PageSource>> {
      absl::MutexLock lock(&mu_);
      if (!start_error_.ok()) return start_error_;
      return std::make_unique<Walk>(this, walks_++);
    };
  }

  // Lets every walk serve `count` more pages.
  void Release(int count) {
    absl::MutexLock lock(&mu_);
    released_ += count;
  }
  void FailStarts(absl::Status status) {
    absl::MutexLock lock(&mu_);
    start_error_ = std::move(status);
  }
  int walks() {
    absl::MutexLock lock(&mu_);
    return walks_;
  }
  // Waits until `count` walks were cancelled.
  void AwaitCancelled(int count) {
    absl::MutexLock lock(&mu_);
    const auto reached = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return cancelled_ >= count; };
    mu_.Await(absl::Condition(&reached));
  }

 private:
  class Walk final : public PageSource {
   public:
    Walk(FakeUpstream* upstream, int number) : upstream_(upstream), number_(number) {}
    absl::StatusOr<std::optional<FetchedPage>> Next() override {
      absl::MutexLock lock(&upstream_->mu_);
      const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(upstream_->mu_) {
        return cancelled_ || served_ == upstream_->pages_ || !upstream_->gated_ || served_ < upstream_->released_;
      };
      upstream_->mu_.Await(absl::Condition(&ready));
      if (cancelled_) return absl::CancelledError("walk cancelled");
      if (served_ == upstream_->pages_) {
        if (!upstream_->end_.ok()) return upstream_->end_;
        return std::nullopt;
      }
      return std::optional<FetchedPage>(MakePage(number_, served_++));
    }
    void Cancel() override {
      absl::MutexLock lock(&upstream_->mu_);
      if (!cancelled_) ++upstream_->cancelled_;
      cancelled_ = true;
    }

   private:
    FakeUpstream* const upstream_;
    const int number_;
    int served_ = 0;
    bool cancelled_ = false;
  };

  absl::Mutex mu_;
  const int pages_;
  const bool gated_;
  const absl::Status end_;
  int released_ ABSL_GUARDED_BY(mu_) = 0;
  int walks_ ABSL_GUARDED_BY(mu_) = 0;
  int cancelled_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status start_error_ ABSL_GUARDED_BY(mu_);
};

// The resource ids of every record a reader reads to its end, and how it ended.
struct ReadOut {
  std::vector<std::string> ids;
  absl::Status status;
};
ReadOut ReadAll(PageSource& pages) {
  ReadOut out;
  for (;;) {
    absl::StatusOr<std::optional<FetchedPage>> page = pages.Next();
    if (!page.ok()) {
      out.status = page.status();
      return out;
    }
    if (!page->has_value()) return out;
    for (const auto& record : (*page)->page.records) out.ids.push_back(record.resource_id());
  }
}
std::vector<std::string> ExpectedIds(int walk, int first_page, int pages) {
  std::vector<std::string> ids;
  for (int p = first_page; p < pages; ++p) {
    for (int i = 0; i < kRecordsPerPage; ++i) ids.push_back(absl::StrCat("w", walk, "-p", p, "-r", i));
  }
  return ids;
}

// Waits (bounded) until the store keeps `kept` complete snapshots and no walk is in flight.
void AwaitSettled(const SnapshotStore& store, int kept) {
  for (int i = 0; i < 5000; ++i) {
    const SnapshotStore::Stats stats = store.stats();
    if (stats.kept == kept && stats.walks_in_flight == 0) return;
    absl::SleepFor(absl::Milliseconds(1));
  }
  FAIL() << "the store did not settle: kept " << store.stats().kept << ", in flight " << store.stats().walks_in_flight;
}

class Clock {
 public:
  std::function<absl::Time()> Now() {
    return [this] {
      absl::MutexLock lock(&mu_);
      return now_;
    };
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

constexpr absl::Duration kStaleness = absl::Minutes(5);

TEST(SnapshotStoreTest, ConcurrentCallsShareOneWalkAndEachReadsEveryRecordOnce) {
  FakeUpstream upstream(5, /*gated=*/true);
  SnapshotStore store(SnapshotOptions{});
  OpenedSnapshot first = store.Open("partner", kStaleness, upstream.Starter());
  OpenedSnapshot second = store.Open("partner", kStaleness, upstream.Starter());
  OpenedSnapshot third = store.Open("partner", kStaleness, upstream.Starter());
  upstream.Release(5);
  for (OpenedSnapshot* opened : {&first, &second, &third}) {
    ReadOut out = ReadAll(*opened->pages);
    EXPECT_TRUE(out.status.ok()) << out.status;
    EXPECT_EQ(out.ids, ExpectedIds(0, 0, 5));
    EXPECT_EQ(opened->snapshot_id, first.snapshot_id);
  }
  EXPECT_FALSE(first.shared);
  EXPECT_TRUE(second.shared);
  EXPECT_TRUE(third.shared);
  EXPECT_EQ(upstream.walks(), 1);
  EXPECT_EQ(store.stats().joins, 2);
}

TEST(SnapshotStoreTest, AJoinerMidWalkReadsFromTheFirstPageThenFollowsLive) {
  FakeUpstream upstream(6, /*gated=*/true);
  SnapshotStore store(SnapshotOptions{});
  OpenedSnapshot early = store.Open("partner", kStaleness, upstream.Starter());
  upstream.Release(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(early.pages->Next().ok());
  OpenedSnapshot late = store.Open("partner", kStaleness, upstream.Starter());
  upstream.Release(3);
  ReadOut late_out = ReadAll(*late.pages);
  EXPECT_TRUE(late_out.status.ok()) << late_out.status;
  EXPECT_EQ(late_out.ids, ExpectedIds(0, 0, 6));
  EXPECT_EQ(ReadAll(*early.pages).ids, ExpectedIds(0, 3, 6));
  EXPECT_EQ(upstream.walks(), 1);
}

TEST(SnapshotStoreTest, AReaderKnowsWhetherItsNextPageIsAtHand) {
  FakeUpstream upstream(2, /*gated=*/true);
  SnapshotStore store(SnapshotOptions{});
  OpenedSnapshot opened = store.Open("partner", kStaleness, upstream.Starter());
  EXPECT_FALSE(opened.pages->NextIsReady());
  upstream.Release(1);
  for (int i = 0; i < 5000 && !opened.pages->NextIsReady(); ++i) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_TRUE(opened.pages->NextIsReady());
  ASSERT_TRUE(opened.pages->Next().ok());
  EXPECT_FALSE(opened.pages->NextIsReady());  // page 2 is not released yet
  upstream.Release(1);
  EXPECT_EQ(ReadAll(*opened.pages).ids, ExpectedIds(0, 1, 2));
  EXPECT_TRUE(opened.pages->NextIsReady());  // the end is known
}

TEST(SnapshotStoreTest, AReaderThatStopsReadingDelaysNeitherTheWalkNorOthers) {
  FakeUpstream upstream(8, /*gated=*/false);
  SnapshotStore store(SnapshotOptions{});
  OpenedSnapshot stalled = store.Open("partner", kStaleness, upstream.Starter());
  OpenedSnapshot reader = store.Open("partner", kStaleness, upstream.Starter());
  // The other reader reads everything, and the walk completes, while the stalled one has read nothing.
  EXPECT_EQ(ReadAll(*reader.pages).ids, ExpectedIds(0, 0, 8));
  AwaitSettled(store, 1);
  EXPECT_EQ(ReadAll(*stalled.pages).ids, ExpectedIds(0, 0, 8));
}

TEST(SnapshotStoreTest, ACallWithinMaxStalenessIsServedWithoutAWalk) {
  Clock clock;
  FakeUpstream upstream(4, /*gated=*/false);
  SnapshotStore store(SnapshotOptions{}, clock.Now());
  {
    OpenedSnapshot first = store.Open("partner", kStaleness, upstream.Starter());
    ReadAll(*first.pages);
  }
  AwaitSettled(store, 1);
  clock.Advance(kStaleness - absl::Seconds(1));
  OpenedSnapshot again = store.Open("partner", kStaleness, upstream.Starter());
  EXPECT_TRUE(again.shared);
  EXPECT_EQ(again.snapshot_time, absl::FromUnixSeconds(1'800'000'000));
  EXPECT_EQ(ReadAll(*again.pages).ids, ExpectedIds(0, 0, 4));
  EXPECT_EQ(upstream.walks(), 1);
  EXPECT_EQ(store.stats().hits, 1);
}

TEST(SnapshotStoreTest, AStaleSnapshotOrZeroMaxStalenessStartsANewWalk) {
  Clock clock;
  FakeUpstream upstream(2, /*gated=*/false);
  SnapshotStore store(SnapshotOptions{}, clock.Now());
  ReadAll(*store.Open("partner", kStaleness, upstream.Starter()).pages);
  AwaitSettled(store, 1);

  OpenedSnapshot fresh = store.Open("partner", absl::ZeroDuration(), upstream.Starter());
  EXPECT_FALSE(fresh.shared);
  EXPECT_EQ(ReadAll(*fresh.pages).ids, ExpectedIds(1, 0, 2));
  AwaitSettled(store, 1);

  clock.Advance(kStaleness + absl::Seconds(1));
  OpenedSnapshot after = store.Open("partner", kStaleness, upstream.Starter());
  EXPECT_FALSE(after.shared);
  EXPECT_EQ(ReadAll(*after.pages).ids, ExpectedIds(2, 0, 2));
  EXPECT_EQ(upstream.walks(), 3);
}

TEST(SnapshotStoreTest, IdentitiesNeverShareASnapshot) {
  FakeUpstream upstream(2, /*gated=*/false);
  SnapshotStore store(SnapshotOptions{});
  const std::string alice = BearerTokenIdentity("eyJhbGciOi.alice-claims.signature-a");
  const std::string forged = BearerTokenIdentity("eyJhbGciOi.alice-claims.forged-signature");
  ASSERT_NE(alice, forged);
  ReadAll(*store.Open(alice, kStaleness, upstream.Starter()).pages);
  AwaitSettled(store, 1);
  OpenedSnapshot other = store.Open(forged, kStaleness, upstream.Starter());
  EXPECT_FALSE(other.shared);
  EXPECT_EQ(ReadAll(*other.pages).ids, ExpectedIds(1, 0, 2));
  EXPECT_EQ(upstream.walks(), 2);
}

TEST(SnapshotStoreTest, IdentitiesNameTheTokenWithoutContainingIt) {
  const std::string token = "secret-token-value";
  EXPECT_EQ(BearerTokenIdentity(token), BearerTokenIdentity(token));
  EXPECT_EQ(BearerTokenIdentity(token).find(token), std::string::npos);
  EXPECT_NE(BearerTokenIdentity(token), ServerCredentialsIdentity());
  EXPECT_EQ(BearerTokenIdentity("").size(), std::string("token-sha256:").size() + 64);
}

TEST(SnapshotStoreTest, AFailingWalkEndsEveryReaderWithTheSameStatusAfterWhatItFetched) {
  const absl::Status failure =
      WithErrorInfo(absl::UnavailableError("Partner Center answered HTTP 503"), reason::kPartnerCenterUnavailable);
  FakeUpstream upstream(3, /*gated=*/true, failure);
  SnapshotStore store(SnapshotOptions{});
  OpenedSnapshot first = store.Open("partner", kStaleness, upstream.Starter());
  upstream.Release(1);
  ASSERT_TRUE(first.pages->Next().ok());
  OpenedSnapshot second = store.Open("partner", kStaleness, upstream.Starter());
  upstream.Release(2);
  ReadOut first_out = ReadAll(*first.pages);
  ReadOut second_out = ReadAll(*second.pages);
  EXPECT_EQ(first_out.ids, ExpectedIds(0, 1, 3));
  EXPECT_EQ(second_out.ids, ExpectedIds(0, 0, 3));
  EXPECT_EQ(first_out.status, failure);
  EXPECT_EQ(second_out.status, failure);
  ASSERT_TRUE(GetErrorInfo(second_out.status).has_value());

  // A resume into the failed walk is refused while its pages are still in memory, so that the caller asks
  // Partner Center again rather than meet the same failure.
  EXPECT_FALSE(store.Resume("partner", first.snapshot_id, 1).has_value());
  EXPECT_FALSE(store.Resume("partner", first.snapshot_id, 3).has_value());

  AwaitSettled(store, 0);
  OpenedSnapshot later = store.Open("partner", kStaleness, upstream.Starter());
  EXPECT_FALSE(later.shared);
  EXPECT_EQ(store.stats().walks, 2);
}

TEST(SnapshotStoreTest, AWalkThatCannotStartFailsItsReaders) {
  FakeUpstream upstream(3, /*gated=*/false);
  upstream.FailStarts(absl::UnauthenticatedError("the refresh token was refused"));
  SnapshotStore store(SnapshotOptions{});
  OpenedSnapshot opened = store.Open("partner", kStaleness, upstream.Starter());
  EXPECT_EQ(ReadAll(*opened.pages).status.code(), absl::StatusCode::kUnauthenticated);
}

TEST(SnapshotStoreTest, ACancelledReaderEndsAtOnceAndTheOthersReadOn) {
  FakeUpstream upstream(4, /*gated=*/true);
  SnapshotStore store(SnapshotOptions{});
  OpenedSnapshot leaving = store.Open("partner", kStaleness, upstream.Starter());
  OpenedSnapshot staying = store.Open("partner", kStaleness, upstream.Starter());
  leaving.pages->Cancel();
  EXPECT_EQ(leaving.pages->Next().status().code(), absl::StatusCode::kCancelled);
  leaving.pages.reset();
  upstream.Release(4);
  EXPECT_EQ(ReadAll(*staying.pages).ids, ExpectedIds(0, 0, 4));
}

TEST(SnapshotStoreTest, TheWalkStopsWhenItsLastReaderLeavesAndIsNotKept) {
  FakeUpstream upstream(4, /*gated=*/true);
  SnapshotStore store(SnapshotOptions{});
  OpenedSnapshot only = store.Open("partner", kStaleness, upstream.Starter());
  upstream.Release(1);
  ASSERT_TRUE(only.pages->Next().ok());
  only.pages.reset();
  upstream.AwaitCancelled(1);
  AwaitSettled(store, 0);
  OpenedSnapshot next = store.Open("partner", kStaleness, upstream.Starter());
  EXPECT_FALSE(next.shared);
  EXPECT_EQ(store.stats().walks, 2);
}

TEST(SnapshotStoreTest, CompleteSnapshotsPastTheByteBoundAreDroppedLeastRecentlyUsedFirst) {
  FakeUpstream upstream(2, /*gated=*/false);
  // Room for two snapshots of two pages.
  SnapshotStore store(SnapshotOptions{.cache_bytes = 4 * PageBytes()});
  for (const char* identity : {"x", "y"}) {
    ReadAll(*store.Open(identity, kStaleness, upstream.Starter()).pages);
    AwaitSettled(store, identity[0] == 'x' ? 1 : 2);
  }
  ReadAll(*store.Open("x", kStaleness, upstream.Starter()).pages);  // a hit: x is now the most recently used
  ReadAll(*store.Open("z", kStaleness, upstream.Starter()).pages);
  AwaitSettled(store, 2);
  EXPECT_EQ(upstream.walks(), 3);
  EXPECT_LE(store.stats().held_bytes, 4 * PageBytes());

  EXPECT_TRUE(store.Open("x", kStaleness, upstream.Starter()).shared);
  EXPECT_TRUE(store.Open("z", kStaleness, upstream.Starter()).shared);
  EXPECT_FALSE(store.Open("y", kStaleness, upstream.Starter()).shared);  // y was dropped
}

TEST(SnapshotStoreTest, AWalkOverTheBoundDeliversEveryRecordButIsNotKept) {
  FakeUpstream upstream(10, /*gated=*/false);
  SnapshotStore store(SnapshotOptions{.cache_bytes = 3 * PageBytes()});
  OpenedSnapshot first = store.Open("partner", kStaleness, upstream.Starter());
  ReadOut out = ReadAll(*first.pages);
  EXPECT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.ids, ExpectedIds(0, 0, 10));
  first.pages.reset();
  AwaitSettled(store, 0);
  EXPECT_EQ(store.stats().held_bytes, 0u);
  EXPECT_FALSE(store.Open("partner", kStaleness, upstream.Starter()).shared);
}

TEST(SnapshotStoreTest, AReaderLaggingPastTheBoundIsLetGoAndTheOthersGetEverything) {
  constexpr int kPages = 10;
  FakeUpstream upstream(kPages, /*gated=*/true);
  SnapshotStore store(SnapshotOptions{.cache_bytes = 3 * PageBytes()});
  OpenedSnapshot laggard = store.Open("partner", kStaleness, upstream.Starter());
  OpenedSnapshot reader = store.Open("partner", kStaleness, upstream.Starter());
  std::vector<std::string> ids;
  for (int page = 0; page < kPages; ++page) {
    upstream.Release(1);
    absl::StatusOr<std::optional<FetchedPage>> next = reader.pages->Next();
    ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
    for (const auto& record : (*next)->page.records) ids.push_back(record.resource_id());
    EXPECT_LE(store.stats().held_bytes, 5 * PageBytes());  // the bound plus two pages
  }
  EXPECT_TRUE(ReadAll(*reader.pages).status.ok());
  EXPECT_EQ(ids, ExpectedIds(0, 0, kPages));

  // The laggard reads what was still held for it, then is told it fell behind.
  ReadOut lagged = ReadAll(*laggard.pages);
  EXPECT_EQ(lagged.status.code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(GetErrorInfo(lagged.status).has_value());
  EXPECT_EQ(GetErrorInfo(lagged.status)->reason(), reason::kSnapshotReaderTooSlow);
  EXPECT_LT(lagged.ids.size(), ExpectedIds(0, 0, kPages).size());
}

TEST(SnapshotStoreTest, ResumeContinuesInsideAHeldSnapshotForItsIdentityOnly) {
  FakeUpstream upstream(5, /*gated=*/false);
  SnapshotStore store(SnapshotOptions{});
  OpenedSnapshot first = store.Open("partner", kStaleness, upstream.Starter());
  ReadAll(*first.pages);
  AwaitSettled(store, 1);

  std::optional<OpenedSnapshot> resumed = store.Resume("partner", first.snapshot_id, 3);
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->snapshot_time, first.snapshot_time);
  EXPECT_EQ(ReadAll(*resumed->pages).ids, ExpectedIds(0, 3, 5));
  EXPECT_FALSE(store.Resume("another partner", first.snapshot_id, 3).has_value());
  EXPECT_FALSE(store.Resume("partner", "no-such-snapshot", 3).has_value());
  EXPECT_FALSE(store.Resume("partner", first.snapshot_id, 6).has_value());
  EXPECT_EQ(upstream.walks(), 1);
}

TEST(SnapshotStoreTest, ResumeFollowsAWalkStillInFlight) {
  FakeUpstream upstream(4, /*gated=*/true);
  SnapshotStore store(SnapshotOptions{});
  OpenedSnapshot first = store.Open("partner", kStaleness, upstream.Starter());
  upstream.Release(2);
  std::optional<OpenedSnapshot> resumed = store.Resume("partner", first.snapshot_id, 2);
  ASSERT_TRUE(resumed.has_value());
  upstream.Release(2);
  EXPECT_EQ(ReadAll(*resumed->pages).ids, ExpectedIds(0, 2, 4));
}

TEST(SnapshotStoreTest, DestroyingTheStoreStopsItsWalks) {
  FakeUpstream upstream(4, /*gated=*/true);
  {
    SnapshotStore store(SnapshotOptions{});
    OpenedSnapshot opened = store.Open("partner", kStaleness, upstream.Starter());
    upstream.Release(1);
    ASSERT_TRUE(opened.pages->Next().ok());
    opened.pages.reset();
  }  // would hang if the walk blocked upstream were not cancelled
  SUCCEED();
}

}  // namespace
}  // namespace pcusage::snapshots
