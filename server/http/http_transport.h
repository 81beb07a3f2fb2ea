// The seam between pcusage and the network: one HTTP request in (a Partner Center GET, a token endpoint POST), one
// complete response out. CurlTransport is the real implementation; tests substitute a gMock fake.
#ifndef PCUSAGE_SERVER_HTTP_HTTP_TRANSPORT_H_
#define PCUSAGE_SERVER_HTTP_HTTP_TRANSPORT_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/http/http_header.h"

namespace pcusage::http {

struct HttpRequest {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::vector<HttpHeader> headers;
  std::string body;  // sent with POST; set Content-Type in `headers`
  // Bounds the whole transfer, connection included.
  absl::Duration timeout = absl::Minutes(2);
  // Polled while the transfer runs; when it returns true the transfer is aborted and Send returns CANCELLED.
  std::function<bool()> is_cancelled;
  // The name of one of `headers` that the server echoes in its response (a request id). A response echoing another
  // value answers some other request: Send fails with UNAVAILABLE and the connection is not used again.
  std::string echoed_header;
};

struct HttpResponse {
  int status_code = 0;
  // Header names are lowercase; values are as received, without surrounding whitespace.
  std::vector<HttpHeader> headers;
  std::string body;

  // The first header named `name` (case-insensitive), if any.
  std::optional<std::string> Header(absl::string_view name) const;
};

// scheme://host[:port]/path of `url`, for logs and messages: userinfo, query and fragment are dropped because they
// can carry credentials.
std::string RedactedUrl(absl::string_view url);

// Whether `name` is an HTTP header name (a non-empty RFC 9110 token).
bool IsHttpHeaderName(absl::string_view name);

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Performs one request. Any HTTP status, 4xx and 5xx included, is a response. A non-OK status means no complete
  // response arrived: UNAVAILABLE (connection, TLS or protocol failure), DEADLINE_EXCEEDED (`timeout` passed),
  // CANCELLED (`is_cancelled` said so), RESOURCE_EXHAUSTED (the body passed the transport's size limit),
  // FAILED_PRECONDITION (the peer's TLS certificate did not verify: retrying cannot help), INVALID_ARGUMENT (a
  // method other than GET or POST, a malformed URL or header).
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace pcusage::http

#endif  // PCUSAGE_SERVER_HTTP_HTTP_TRANSPORT_H_
