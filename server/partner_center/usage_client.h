// One logical "list usage records for all customers" call against Partner Center, as a PageSource the service
// pulls pages from: each page fetched through the UsageStub (one attempt) inside the retry loop, links.next
// resolved and checked, the paging guards applied. Knows nothing of gRPC.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_USAGE_CLIENT_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_USAGE_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/http/http_transport.h"
#include "server/http/retry_policy.h"
#include "server/partner_center/page_position.h"
#include "server/partner_center/page_source.h"
#include "server/partner_center/usage_records_parser.h"
#include "server/partner_center/usage_stub.h"

namespace pcusage::partner_center {

// The most a links.next (URI and headers together) may take: it is sent as request headers, and every resume token
// of the following page carries it. Partner Center's continuation tokens take a few hundred bytes.
inline constexpr std::size_t kMaxNextLinkBytes = 16 << 10;

struct UsageClientOptions {
  // Partner Center's API root, without the version segment.
  std::string base_url = "https://api.partnercenter.microsoft.com";
  std::string locale = "en-US";                    // X-Locale
  std::string application_name = "pcusage";        // MS-PartnerCenter-Application
  std::string contract_version = "v1";             // MS-Contract-Version, and the URL's version segment
  absl::Duration page_timeout = absl::Minutes(2);  // one attempt at one page; the call's deadline may shorten it
  int max_pages = 10000;                           // a call needing more pages fails instead of looping on
  http::RetryOptions retry;
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

class UsageClient {
 public:
  // INVALID_ARGUMENT when options.base_url is not an http(s) URL without query or fragment, a header option is
  // empty or has control characters, or a bound is not positive. `sleeper` defaults to real time.
  static absl::StatusOr<std::unique_ptr<UsageClient>> Create(std::shared_ptr<http::HttpTransport> transport,
                                                             UsageClientOptions options,
                                                             std::shared_ptr<http::Sleeper> sleeper = nullptr);
  // The same over a given stub (tests script whole page attempts with MockUsageStub).
  static absl::StatusOr<std::unique_ptr<UsageClient>> Create(std::shared_ptr<UsageStub> stub,
                                                             UsageClientOptions options,
                                                             std::shared_ptr<http::Sleeper> sleeper = nullptr);

  // The first page of the collection.
  PagePosition FirstPage() const;

  // The pages of the collection from `start` on, fetched one at a time as they are pulled (at most one page is
  // held). Each page is requested with a fresh MS-RequestId, kept on every retry of it; no wait is started that
  // would end after `call.deadline`. Every error carries an ErrorInfo (server/common/error_details.h) with
  // ms_correlation_id: the stub's errors (usage_stub.h) once retries are spent, RESOURCE_EXHAUSTED with a
  // RetryInfo when throttling outlasts the retries or the deadline, DEADLINE_EXCEEDED when `call.deadline`
  // passes, CANCELLED, INTERNAL (PARTNER_CENTER_PAGING_LOOP) for paging that repeats itself, exceeds max_pages or
  // leaves the API host. The source must not outlive this client.
  std::unique_ptr<PageSource> ListUsageRecords(ListCall call, PagePosition start) const;

  // Where links.next's `uri` points, resolved against the API root. Partner Center sends both host-relative URIs
  // ("/v1/customers?...") and version-relative ones ("/customers/usagerecords"); both are accepted. An absolute URI
  // must stay on the API root's scheme and host, so the bearer token never goes elsewhere.
  absl::StatusOr<std::string> ResolveNextUri(absl::string_view uri) const;

  // Whether `url` is on the API root's scheme and host (resume tokens are checked with it).
  bool IsOnApiHost(absl::string_view url) const;

  const UsageClientOptions& options() const { return options_; }

 private:
  friend class LiveWalk;

  UsageClient(std::shared_ptr<UsageStub> stub, UsageClientOptions options, std::string origin,
              std::shared_ptr<http::Sleeper> sleeper);

  // Where links.next leads: its URI resolved, its headers checked, pcusage's own headers left out.
  absl::StatusOr<PagePosition> NextPosition(const NextPageLink& link, int page_number) const;

  std::shared_ptr<UsageStub> stub_;
  UsageClientOptions options_;
  std::string origin_;  // scheme://host[:port] of base_url
  std::shared_ptr<http::Sleeper> sleeper_;
  http::RetryPolicy retry_policy_;
};

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_USAGE_CLIENT_H_
