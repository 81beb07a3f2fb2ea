#include "server/partner_center/prefetched_pages.h"

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace pcusage::partner_center {
namespace {

// Hands out `pages` numbered pages, then `end` (nullopt or an error); records how many it was asked for, and can be
// made to block in Next until cancelled.
class ScriptedPages : public PageSource {
 public:
  ScriptedPages(int pages, absl::Status end) : pages_(pages), end_(std::move(end)) {}

  absl::StatusOr<std::optional<FetchedPage>> Next() override {
    absl::MutexLock lock(&mu_);
    ++asked_;
    if (block_) {
      entered_block_.Notify();
      mu_.Await(absl::Condition(&cancelled_));
      return absl::CancelledError("cancelled while fetching");
    }
    if (served_ == pages_) {
      if (!end_.ok()) return end_;
      return std::nullopt;
    }
    FetchedPage page;
    page.position.page_number = ++served_;
    return std::optional<FetchedPage>(std::move(page));
  }
  void Cancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }

  int asked() {
    absl::MutexLock lock(&mu_);
    return asked_;
  }
  void BlockNextFetch() {
    absl::MutexLock lock(&mu_);
    block_ = true;
  }
  absl::Notification entered_block_;

 private:
  absl::Mutex mu_;
  const int pages_;
  const absl::Status end_;
  int served_ ABSL_GUARDED_BY(mu_) = 0;
  int asked_ ABSL_GUARDED_BY(mu_) = 0;
  bool block_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(PrefetchedPagesTest, DeliversEveryPageInOrderThenTheEnd) {
  auto* scripted = new ScriptedPages(3, absl::OkStatus());
  PrefetchedPages pages{std::unique_ptr<PageSource>(scripted)};
  for (int expected = 1; expected <= 3; ++expected) {
    absl::StatusOr<std::optional<FetchedPage>> page = pages.Next();
    ASSERT_TRUE(page.ok() && page->has_value());
    EXPECT_EQ((*page)->position.page_number, expected);
  }
  EXPECT_FALSE(pages.Next()->has_value());
  EXPECT_FALSE(pages.Next()->has_value());  // and again, without asking the source
  EXPECT_EQ(scripted->asked(), 4);
}

TEST(PrefetchedPagesTest, SaysWhenTheNextPageIsAtHand) {
  auto scripted = std::make_unique<ScriptedPages>(1, absl::OkStatus());
  ScriptedPages* pages = scripted.get();
  pages->BlockNextFetch();
  PrefetchedPages prefetched(std::move(scripted));
  pages->entered_block_.WaitForNotification();
  EXPECT_FALSE(prefetched.NextIsReady());  // the fetch is still under way
  prefetched.Cancel();
  for (int i = 0; i < 5000 && !prefetched.NextIsReady(); ++i) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_TRUE(prefetched.NextIsReady());  // its outcome, CANCELLED, is at hand
  EXPECT_EQ(prefetched.Next().status().code(), absl::StatusCode::kCancelled);
}

TEST(PrefetchedPagesTest, RunsAtMostOnePageAhead) {
  auto* scripted = new ScriptedPages(10, absl::OkStatus());
  PrefetchedPages pages{std::unique_ptr<PageSource>(scripted)};
  ASSERT_TRUE(pages.Next().ok());  // page 1 taken; page 2 is fetched next, and no more until it is taken
  for (int i = 0; i < 1000 && scripted->asked() < 2; ++i) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(20));  // room for a third fetch, which must not happen
  EXPECT_EQ(scripted->asked(), 2);
}

TEST(PrefetchedPagesTest, AnErrorEndsTheSourceAndIsRepeated) {
  PrefetchedPages pages{std::make_unique<ScriptedPages>(1, absl::UnavailableError("HTTP 503"))};
  EXPECT_TRUE(pages.Next().ok());
  EXPECT_EQ(pages.Next().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pages.Next().status().code(), absl::StatusCode::kUnavailable);
}

TEST(PrefetchedPagesTest, DroppingTheSourceCancelsTheFetchInFlight) {
  auto* scripted = new ScriptedPages(10, absl::OkStatus());
  scripted->BlockNextFetch();
  {
    PrefetchedPages pages{std::unique_ptr<PageSource>(scripted)};
    scripted->entered_block_.WaitForNotification();
  }  // would hang here if the blocked fetch were not cancelled
  SUCCEED();
}

TEST(PrefetchedPagesTest, CancelReachesTheSourceAndEndsTheStream) {
  auto* scripted = new ScriptedPages(10, absl::OkStatus());
  scripted->BlockNextFetch();
  PrefetchedPages pages{std::unique_ptr<PageSource>(scripted)};
  scripted->entered_block_.WaitForNotification();
  pages.Cancel();
  EXPECT_EQ(pages.Next().status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace pcusage::partner_center
