// An http::HttpTransport that counts what passes through it (pcusage_upstream_requests_total by HTTP status, and
// pcusage_upstream_request_duration_seconds) for one upstream, then hands the request to the transport it wraps
// unchanged: the page and token clients are instrumented where they are wired, not in their own code.
#ifndef PCUSAGE_SERVER_METRICS_INSTRUMENTED_TRANSPORT_H_
#define PCUSAGE_SERVER_METRICS_INSTRUMENTED_TRANSPORT_H_

#include <memory>

#include "server/http/http_transport.h"
#include "server/metrics/pcusage_metrics.h"

namespace pcusage::metrics {

class InstrumentedTransport final : public http::HttpTransport {
 public:
  InstrumentedTransport(std::shared_ptr<http::HttpTransport> transport, Upstream upstream)
      : transport_(std::move(transport)), upstream_(upstream) {}

  absl::StatusOr<http::HttpResponse> Send(const http::HttpRequest& request) override;

 private:
  std::shared_ptr<http::HttpTransport> transport_;
  Upstream upstream_;
};

// `transport`, counted as requests to `upstream`.
std::shared_ptr<http::HttpTransport> Instrumented(std::shared_ptr<http::HttpTransport> transport, Upstream upstream);

}  // namespace pcusage::metrics

#endif  // PCUSAGE_SERVER_METRICS_INSTRUMENTED_TRANSPORT_H_
