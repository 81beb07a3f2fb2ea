// ONE attempt at one Partner Center usage-records page: the request with Partner Center's headers, one Send, the
// failure classified for the retry loop, a 2xx body translated. No retries, no paging, no waiting: those are the
// UsageClient's. Talks to the network only through http::HttpTransport.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_USAGE_STUB_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_USAGE_STUB_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/http/http_transport.h"
#include "server/http/retry_loop.h"
#include "server/partner_center/page_position.h"
#include "server/partner_center/usage_records_parser.h"

namespace pcusage::partner_center {

// One request for one page.
struct PageRequest {
  PagePosition position;
  std::string access_token;    // sent as "Authorization: Bearer <token>"
  std::string correlation_id;  // MS-CorrelationId, the same on every page of a call
  std::string request_id;      // MS-RequestId, the same on every attempt at a page: Partner Center's idempotency key
  absl::Duration timeout = absl::Minutes(2);
  std::function<bool()> is_cancelled;  // polled during the transfer; may be empty
  int attempt = 1;                     // for log lines only
};

// The headers Partner Center expects of every client besides the per-call ones.
struct PartnerCenterHeaders {
  std::string locale = "en-US";              // X-Locale
  std::string application_name = "pcusage";  // MS-PartnerCenter-Application
  std::string contract_version = "v1";       // MS-Contract-Version
};

// Whether `name` (any case) is a header pcusage sets on a page request itself, or one that would change where the
// request goes or how it is framed (Host, Content-Length): a page position's continuation headers never replace
// them. The one filter every header that reaches Partner Center passes: RestUsageStub applies it to each request,
// whether the position came from links.next or a resume token.
bool IsReservedHeader(absl::string_view name);

// "page 3 GET <url without query> [MS-RequestId ..., MS-CorrelationId ...]": how log lines name a page request.
std::string DescribePageRequest(const PageRequest& request);

class UsageStub {
 public:
  virtual ~UsageStub() = default;

  // One attempt. A failure says what a retry could do (throttling with Partner Center's Retry-After, server
  // errors, connection failures, time-outs; everything else is permanent) and carries an ErrorInfo with
  // ms_request_id and page: Partner Center's HTTP errors as errors.h maps them, UNAVAILABLE
  // (PARTNER_CENTER_UNREACHABLE) and DEADLINE_EXCEEDED (PARTNER_CENTER_TIMEOUT) from the transport, CANCELLED,
  // FAILED_PRECONDITION for TLS verification and oversized bodies, INTERNAL (PARTNER_CENTER_BAD_RESPONSE) for a
  // body that is not a readable page.
  virtual http::Attempt<UsageRecordsPage> FetchPage(const PageRequest& request) = 0;
};

// The UsageStub over HTTP. `clock` (only its Now() is used) dates HTTP-date Retry-After headers; real time when
// null.
class RestUsageStub final : public UsageStub {
 public:
  RestUsageStub(std::shared_ptr<http::HttpTransport> transport, PartnerCenterHeaders headers,
                std::shared_ptr<http::Sleeper> clock = nullptr);

  http::Attempt<UsageRecordsPage> FetchPage(const PageRequest& request) override;

 private:
  http::HttpRequest BuildRequest(const PageRequest& request) const;

  std::shared_ptr<http::HttpTransport> transport_;
  PartnerCenterHeaders headers_;
  std::shared_ptr<http::Sleeper> clock_;
};

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_USAGE_STUB_H_
