// Where a Partner Center page is: a small value that paging, resume tokens and snapshots share without knowing how
// pages are fetched.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_PAGE_POSITION_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_PAGE_POSITION_H_

#include <string>
#include <vector>

#include "server/http/http_header.h"

namespace pcusage::partner_center {

// The URL and the continuation headers to request a page with. Page numbers count from 1.
struct PagePosition {
  std::string url;
  std::vector<http::HttpHeader> headers;
  int page_number = 1;
};

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_PAGE_POSITION_H_
