// The production HttpTransport: HTTP(S) requests (GET, and POST for the token endpoint) through libcurl.
#ifndef PCUSAGE_SERVER_HTTP_CURL_TRANSPORT_H_
#define PCUSAGE_SERVER_HTTP_CURL_TRANSPORT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/secrets.h"
#include "server/http/http_transport.h"

namespace pcusage::http {

struct CurlTransportOptions {
  // A body longer than this fails with RESOURCE_EXHAUSTED; the transfer stops as soon as the limit is passed.
  std::size_t max_response_bytes = 64 << 20;
  // Capped by each request's own timeout.
  absl::Duration connect_timeout = absl::Seconds(10);
  std::string user_agent = "pcusage";
  // PEM file of trusted CAs; empty means libcurl's system default.
  std::string ca_bundle_file;
  // An HTTP(S) proxy URL; empty means none, whatever http_proxy/https_proxy in the environment say.
  std::string proxy;
};

// Performs requests with libcurl: http and https only, TLS peers always verified, redirects returned rather than
// followed, compressed bodies (gzip, deflate, and whatever else libcurl was built with) decoded. Safe to call
// from many threads at once; idle connections are kept and reused across calls. Error messages show the URL
// without userinfo, query or fragment and never include request header values, which may carry bearer tokens.
class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options = {});
  ~CurlTransport() override;

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  // A CURL easy handle (libcurl's CURL is void), which keeps <curl/curl.h> out of this header.
  using Handle = void;

  Handle* AcquireHandle();
  // Puts `handle` back in the idle pool if `reusable` and the pool has room; otherwise destroys it.
  void ReleaseHandle(Handle* handle, bool reusable);

  const CurlTransportOptions options_;
  const std::vector<SecretHold> proxy_credential_holds_;  // libcurl's errors may quote the proxy URL
  absl::Mutex mu_;
  std::vector<Handle*> idle_handles_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pcusage::http

#endif  // PCUSAGE_SERVER_HTTP_CURL_TRANSPORT_H_
