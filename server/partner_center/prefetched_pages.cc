#include "server/partner_center/prefetched_pages.h"

#include <utility>

namespace pcusage::partner_center {

PrefetchedPages::PrefetchedPages(std::unique_ptr<PageSource> pages)
    : pages_(std::move(pages)), thread_([this] { Prefetch(); }) {}

PrefetchedPages::~PrefetchedPages() {
  Cancel();
  thread_.join();
}

void PrefetchedPages::Cancel() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  pages_->Cancel();
}

void PrefetchedPages::Prefetch() {
  for (;;) {
    absl::StatusOr<std::optional<FetchedPage>> page = pages_->Next();  // no lock held while fetching
    const bool last = !page.ok() || !page->has_value();
    absl::MutexLock lock(&mu_);
    if (last) {
      finished_ = true;
      final_status_ = page.status();
    }
    ready_ = std::move(page);
    // One page ahead, no more: wait until the caller has taken this one.
    const auto taken_or_stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !ready_ || stopping_; };
    mu_.Await(absl::Condition(&taken_or_stopping));
    if (last || stopping_) return;
  }
}

absl::StatusOr<std::optional<FetchedPage>> PrefetchedPages::Next() {
  absl::MutexLock lock(&mu_);
  const auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ready_.has_value() || finished_; };
  mu_.Await(absl::Condition(&available));
  if (!ready_.has_value()) {  // the last page or the error was taken before
    if (!final_status_.ok()) return final_status_;
    return std::nullopt;
  }
  absl::StatusOr<std::optional<FetchedPage>> page = *std::move(ready_);
  ready_.reset();
  return page;
}

bool PrefetchedPages::NextIsReady() {
  absl::MutexLock lock(&mu_);
  return ready_.has_value() || finished_;
}

}  // namespace pcusage::partner_center
