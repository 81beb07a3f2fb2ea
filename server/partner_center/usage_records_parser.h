// Translates one page of Partner Center's usage-records collection (JSON bytes) into protobuf records, keeping
// every decimal digit exactly as sent. Pure: bytes in, a page or an error naming the offending field out.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_USAGE_RECORDS_PARSER_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_USAGE_RECORDS_PARSER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "partnercenter/usage/v1/usage_records.pb.h"
#include "server/http/http_header.h"

namespace pcusage::partner_center {

// Partner Center's `links.next`: where the following page is and the headers (such as MS-ContinuationToken) to
// send with that request. `uri` is as sent, usually relative to the API root.
struct NextPageLink {
  std::string uri;
  std::vector<http::HttpHeader> headers;
};

struct UsageRecordsPage {
  // Every item of the page, in order.
  std::vector<partnercenter::usage::v1::CustomerMonthlyUsageRecord> records;
  // The page's `totalCount`, Partner Center's own figure (not the item count).
  std::optional<int64_t> total_count;
  // Absent on the last page.
  std::optional<NextPageLink> next;
};

// Parses a page with nlohmann/json's SAX interface, translating each item as soon as it is complete. Unknown
// fields are ignored and `null` means absent. A value of the wrong type, malformed JSON, or a page that is not a
// collection gives INVALID_ARGUMENT naming the field path, e.g. "items[1].budget.amount: ...".
absl::StatusOr<UsageRecordsPage> ParseUsageRecordsPage(absl::string_view json);

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_USAGE_RECORDS_PARSER_H_
