// Pages pulled one at a time: what the service reads, whether the pages come from a live walk of Partner Center or
// from a snapshot another call fetched.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_PAGE_SOURCE_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_PAGE_SOURCE_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "server/partner_center/page_position.h"
#include "server/partner_center/usage_records_parser.h"

namespace pcusage::partner_center {

// A translated page with where it came from and where the next one is (absent on the last page).
struct FetchedPage {
  UsageRecordsPage page;
  PagePosition position;
  std::optional<PagePosition> next;
  // The page's place among the pages of its walk, from 0 (where a resume into a shared snapshot continues).
  int64_t index_in_walk = 0;
};

class PageSource {
 public:
  virtual ~PageSource() = default;

  // The next page, in order; nullopt after the last one. Every record of the collection is in exactly one page
  // returned. An error ends the source: later calls return it again and fetch nothing.
  virtual absl::StatusOr<std::optional<FetchedPage>> Next() = 0;

  // Makes a Next() running on another thread return CANCELLED as soon as it can, and every later one at once.
  // Safe to call from any thread, any number of times.
  virtual void Cancel() = 0;

  // Whether Next() would return at once (a page, the end or an error) rather than wait for Partner Center. A reader
  // uses it to fill a message from pages already at hand without ever waiting to fill one.
  virtual bool NextIsReady() { return false; }
};

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_PAGE_SOURCE_H_
