#include "server/metrics/instrumented_transport.h"

#include <utility>

#include "absl/time/clock.h"

namespace pcusage::metrics {

absl::StatusOr<http::HttpResponse> InstrumentedTransport::Send(const http::HttpRequest& request) {
  const absl::Time started = absl::Now();
  absl::StatusOr<http::HttpResponse> response = transport_->Send(request);
  const absl::Duration took = absl::Now() - started;
  if (response.ok()) {
    UpstreamResponse(upstream_, response->status_code, took);
  } else {
    UpstreamFailure(upstream_, response.status().code(), took);
  }
  return response;
}

std::shared_ptr<http::HttpTransport> Instrumented(std::shared_ptr<http::HttpTransport> transport, Upstream upstream) {
  return std::make_shared<InstrumentedTransport>(std::move(transport), upstream);
}

}  // namespace pcusage::metrics
