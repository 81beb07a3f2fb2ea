// A walk continued from a page another walk named as its next: the same pages, numbered on from where that walk
// stopped (FetchedPage::index_in_walk), so that a snapshot made of both reads as one walk.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_RENUMBERED_PAGES_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_RENUMBERED_PAGES_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "server/partner_center/page_source.h"

namespace pcusage::partner_center {

class RenumberedPages final : public PageSource {
 public:
  RenumberedPages(std::unique_ptr<PageSource> pages, int64_t first_index)
      : pages_(std::move(pages)), first_index_(first_index) {}
  absl::StatusOr<std::optional<FetchedPage>> Next() override {
    absl::StatusOr<std::optional<FetchedPage>> page = pages_->Next();
    if (page.ok() && page->has_value()) (*page)->index_in_walk += first_index_;
    return page;
  }
  void Cancel() override { pages_->Cancel(); }
  bool NextIsReady() override { return pages_->NextIsReady(); }

 private:
  const std::unique_ptr<PageSource> pages_;
  const int64_t first_index_;
};

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_RENUMBERED_PAGES_H_
