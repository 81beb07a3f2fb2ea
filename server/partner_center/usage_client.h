// One logical "list usage records for all customers" call against Partner Center: builds each page request with
// Partner Center's headers, retries a page as the RetryPolicy allows, follows links.next until it is absent, and
// hands every translated page on as soon as it arrives. Knows nothing of gRPC; talks to the network only through
// HttpTransport.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_USAGE_CLIENT_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_USAGE_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/partner_center/http_transport.h"
#include "server/partner_center/retry_policy.h"
#include "server/partner_center/usage_records_parser.h"

namespace pcusage::partner_center {

struct UsageClientOptions {
  // Partner Center's API root, without the version segment.
  std::string base_url = "https://api.partnercenter.microsoft.com";
  std::string locale = "en-US";                    // X-Locale
  std::string application_name = "pcusage";        // MS-PartnerCenter-Application
  std::string contract_version = "v1";             // MS-Contract-Version, and the URL's version segment
  absl::Duration page_timeout = absl::Minutes(2);  // one attempt at one page; the call's deadline may shorten it
  int max_pages = 10000;                           // a call needing more pages fails instead of looping on
  RetryOptions retry;
};

// What one call needs beyond the options.
struct ListCall {
  std::string access_token;    // Partner Center App+User bearer token
  std::string correlation_id;  // MS-CorrelationId, the same on every page request
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> is_cancelled;  // polled during transfers and waits; may be empty
  // Asked at most once per call, when Partner Center answers 401: a token to retry that page with at once. When
  // empty, NOT_FOUND (no other token) or the rejected token again, the 401 ends the call; another error ends it
  // instead (e.g. the refresh token itself was refused).
  std::function<absl::StatusOr<std::string>(absl::string_view rejected)> renew_access_token;
};

// Where a page is: the URL and the continuation headers to request it with. Page numbers count from 1.
struct PagePosition {
  std::string url;
  std::vector<HttpHeader> headers;
  int page_number = 1;
};

// A translated page with where it came from and where the next one is (absent on the last page).
struct FetchedPage {
  UsageRecordsPage page;
  PagePosition position;
  std::optional<PagePosition> next;
};

// Receives each page in order; a non-OK status ends the call with that status.
using PageConsumer = std::function<absl::Status(FetchedPage page)>;

class UsageClient {
 public:
  // INVALID_ARGUMENT when options.base_url is not an http(s) URL without query or fragment, or a bound is not
  // positive. `sleeper` defaults to real time.
  static absl::StatusOr<std::unique_ptr<UsageClient>> Create(std::shared_ptr<HttpTransport> transport,
                                                             UsageClientOptions options,
                                                             std::shared_ptr<Sleeper> sleeper = nullptr);

  // The first page of the collection.
  PagePosition FirstPage() const;

  // Requests page after page, starting at `start`, and passes each to `consume` before asking for the next, so at
  // most one page is held at a time. Every item of every page reaches `consume` exactly once, or the call fails.
  // A failed page request is retried with the same MS-RequestId as the retry policy allows, but no wait is started
  // that would end after `call.deadline`. Every error carries an ErrorInfo (server/common/error_details.h):
  // Partner Center's HTTP errors (errors.h), UNAVAILABLE/DEADLINE_EXCEEDED for connection failures and time-outs
  // once retries are spent, RESOURCE_EXHAUSTED with a RetryInfo when throttling outlasts the retries or the
  // deadline, DEADLINE_EXCEEDED when `call.deadline` passes, CANCELLED, INTERNAL for a page that cannot be read and
  // for paging that repeats itself, exceeds max_pages or leaves the API host.
  absl::Status ListUsageRecords(const ListCall& call, const PagePosition& start, const PageConsumer& consume) const;

  // Where links.next's `uri` points, resolved against the API root. Partner Center sends both host-relative URIs
  // ("/v1/customers?...") and version-relative ones ("/customers/usagerecords"); both are accepted. An absolute URI
  // must stay on the API root's scheme and host, so the bearer token never goes elsewhere.
  absl::StatusOr<std::string> ResolveNextUri(absl::string_view uri) const;

  // Whether `url` is on the API root's scheme and host (resume tokens are checked with it).
  bool IsOnApiHost(absl::string_view url) const;

  const UsageClientOptions& options() const { return options_; }

 private:
  UsageClient(std::shared_ptr<HttpTransport> transport, UsageClientOptions options, std::string origin,
              std::shared_ptr<Sleeper> sleeper);

  // One page, retried as the policy allows; the page's links.next is resolved into `next`.
  // A 401 may replace `call`'s token (once: renew_access_token is then cleared).
  absl::StatusOr<FetchedPage> FetchPage(ListCall& call, const PagePosition& position) const;

  // Where links.next leads: its URI resolved, its headers checked, pcusage's own headers left out.
  absl::StatusOr<PagePosition> NextPosition(const NextPageLink& link, int page_number) const;

  std::shared_ptr<HttpTransport> transport_;
  UsageClientOptions options_;
  std::string origin_;  // scheme://host[:port] of base_url
  std::shared_ptr<Sleeper> sleeper_;
  RetryPolicy retry_policy_;
};

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_USAGE_CLIENT_H_
