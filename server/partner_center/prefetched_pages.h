// A PageSource that fetches the next page on a thread of its own while the caller works on the current one, so the
// upstream transfer and translation of page N+1 overlap the writing of page N. It runs at most one page ahead, so a
// stream holds at most two pages: the one being written and the one fetched.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_PREFETCHED_PAGES_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_PREFETCHED_PAGES_H_

#include <memory>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/partner_center/page_source.h"

namespace pcusage::partner_center {

class PrefetchedPages final : public PageSource {
 public:
  // Starts fetching the first page of `pages` at once.
  explicit PrefetchedPages(std::unique_ptr<PageSource> pages);
  // Cancels the fetch in flight (the transfer stops as a caller's cancellation would stop it) and waits for it.
  ~PrefetchedPages() override;
  PrefetchedPages(const PrefetchedPages&) = delete;
  PrefetchedPages& operator=(const PrefetchedPages&) = delete;

  absl::StatusOr<std::optional<FetchedPage>> Next() override;
  void Cancel() override;
  bool NextIsReady() override;

 private:
  void Prefetch();

  const std::unique_ptr<PageSource> pages_;
  absl::Mutex mu_;
  std::optional<absl::StatusOr<std::optional<FetchedPage>>> ready_ ABSL_GUARDED_BY(mu_);  // fetched, not taken
  bool finished_ ABSL_GUARDED_BY(mu_) = false;      // the last page or an error has been fetched
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);  // after the last page: OK (then nullopt) or the error
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_PREFETCHED_PAGES_H_
