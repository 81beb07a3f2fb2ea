// One logical "list usage records for all customers" call against Partner Center: builds each page request with
// Partner Center's headers, follows links.next until it is absent, and hands every translated page on as soon as
// it arrives. Knows nothing of gRPC; talks to the network only through HttpTransport.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_USAGE_CLIENT_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_USAGE_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/partner_center/http_transport.h"
#include "server/partner_center/usage_records_parser.h"

namespace pcusage::partner_center {

struct UsageClientOptions {
  // Partner Center's API root, without the version segment.
  std::string base_url = "https://api.partnercenter.microsoft.com";
  std::string locale = "en-US";                 // X-Locale
  std::string application_name = "pcusage";     // MS-PartnerCenter-Application
  std::string contract_version = "v1";          // MS-Contract-Version, and the URL's version segment
  absl::Duration page_timeout = absl::Minutes(2);  // one page request; the call's deadline may shorten it
  int max_pages = 10000;                           // a call needing more pages fails instead of looping on
};

// What one call needs beyond the options.
struct ListCall {
  std::string access_token;    // Partner Center App+User bearer token
  std::string correlation_id;  // MS-CorrelationId, the same on every page request
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> is_cancelled;  // polled during transfers; may be empty
};

// Receives each page in order; a non-OK status ends the call with that status.
using PageConsumer = std::function<absl::Status(UsageRecordsPage page)>;

class UsageClient {
 public:
  // INVALID_ARGUMENT when options.base_url is not an http(s) URL without query or fragment, or max_pages < 1.
  static absl::StatusOr<std::unique_ptr<UsageClient>> Create(std::shared_ptr<HttpTransport> transport,
                                                             UsageClientOptions options);

  // Requests page after page and passes each to `consume` before asking for the next, so at most one page is held
  // at a time. Every item of every page reaches `consume` exactly once, or the call fails. Errors: Partner Center's
  // HTTP errors (see errors.h), transport failures, DEADLINE_EXCEEDED when `call.deadline` passes, CANCELLED,
  // INTERNAL for a page that cannot be read or for paging that repeats itself or exceeds max_pages.
  absl::Status ListUsageRecords(const ListCall& call, const PageConsumer& consume) const;

  // Where links.next's `uri` points, resolved against the API root. Partner Center sends both host-relative URIs
  // ("/v1/customers?...") and version-relative ones ("/customers/usagerecords"); both are accepted. An absolute URI
  // must stay on the API root's scheme and host, so the bearer token never goes elsewhere.
  absl::StatusOr<std::string> ResolveNextUri(absl::string_view uri) const;

  const UsageClientOptions& options() const { return options_; }

 private:
  UsageClient(std::shared_ptr<HttpTransport> transport, UsageClientOptions options, std::string origin);

  std::shared_ptr<HttpTransport> transport_;
  UsageClientOptions options_;
  std::string origin_;  // scheme://host[:port] of base_url
};

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_USAGE_CLIENT_H_
