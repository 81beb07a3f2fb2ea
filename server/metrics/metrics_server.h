// The --metrics_listen endpoint: GET /metrics answers a Registry's Prometheus text, served by cpp-httplib on threads
// of its own. What a peer can make it hold is bounded: `threads` connections served at once, 4x as many waiting
// (then the listener stops accepting until one frees), read and write timeouts, and a few requests per keep-alive
// connection. Anything but GET (or HEAD) /metrics is 404.
#ifndef PCUSAGE_SERVER_METRICS_METRICS_SERVER_H_
#define PCUSAGE_SERVER_METRICS_METRICS_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/metrics/exposition.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace pcusage::metrics {

struct MetricsServerOptions {
  // host:port or [v6]:port; ":port" or a bare port means 127.0.0.1. Port 0 picks a free port (see port()).
  std::string listen;
  int threads = 2;
  absl::Duration read_timeout = absl::Seconds(5);
  absl::Duration write_timeout = absl::Seconds(5);
  absl::Duration keep_alive_timeout = absl::Seconds(2);
  int keep_alive_max_requests = 10;
};

class MetricsServer {
 public:
  // Binds options.listen and serves `registry` (which must outlive the server). INVALID_ARGUMENT when the address
  // is not host:port (a unix socket included) or threads is not positive; UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const Registry& registry,
                                                              const MetricsServerOptions& options);

  // Stops accepting, finishes the requests being served, and joins the threads.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }
  // Only processes on this machine can reach it (the address bound is loopback).
  bool loopback() const { return loopback_; }
  // http://host:port/metrics, for the start-up log line.
  std::string url() const;

 private:
  MetricsServer(std::unique_ptr<httplib::Server> server, std::string host, int port, bool loopback);

  std::unique_ptr<httplib::Server> server_;
  std::string host_;  // as bound: numeric, v6 without brackets
  int port_;
  bool loopback_;
  std::thread listener_;
};

}  // namespace pcusage::metrics

#endif  // PCUSAGE_SERVER_METRICS_METRICS_SERVER_H_
