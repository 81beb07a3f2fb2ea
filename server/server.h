// A running pcusage server: builds every part from ServerOptions (transport, token source, Partner Center client,
// resume tokens, the listener and its policy, the edge's limits), registers the service with reflection and
// health, and serves until shut down. main.cc only turns flags into ServerOptions.
#ifndef PCUSAGE_SERVER_SERVER_H_
#define PCUSAGE_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "server/http/curl_transport.h"
#include "server/listener.h"
#include "server/partner_center/usage_client.h"
#include "server/readiness.h"
#include "server/tokens/credentials.h"

namespace pcusage {

inline constexpr char kServiceName[] = "partnercenter.usage.v1.UsageRecordsService";

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";
  bool insecure = false;  // serve server-held credentials off loopback without TLS and caller authentication
  ListenerFiles listener;
  std::string cloud = "public";
  tokens::CredentialsConfig credentials;      // its `cloud` is filled in from `cloud`
  partner_center::UsageClientOptions client;  // an empty base_url means the cloud's
  http::CurlTransportOptions transport;
  std::string resume_token_key_file;  // empty: a random key per process
  absl::Duration resume_token_ttl = absl::Hours(1);
  absl::Duration max_call_duration = absl::Hours(1);
  // What a peer can make the server hold: streams in total (more are refused with RESOURCE_EXHAUSTED), streams on
  // one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS), and threads (gRPC's own RESOURCE_EXHAUSTED beyond).
  int max_concurrent_streams = 100;
  int max_streams_per_caller = 50;  // of each authenticated caller; 0: the total only
  int max_streams_per_connection = 100;
  int max_threads = 128;
  // Calls of the reflection and health services at once (more are cancelled at once), and whether health checks
  // skip caller authentication (callers/auxiliary_services_gate.h).
  int max_auxiliary_streams = 8;
  bool open_health_checks = false;
  // How long one of their streams may run before it is cancelled: reflection's, and a health Watch's (load
  // balancers keep one open for a connection's life).
  absl::Duration max_auxiliary_stream_duration = absl::Minutes(5);
  absl::Duration max_health_watch_duration = absl::Hours(1);
  // A connection that has not finished its TLS and HTTP/2 handshake by then is closed; one with no stream for
  // max_connection_idle gets a GOAWAY (gRPC clients reconnect when they next call).
  absl::Duration handshake_timeout = absl::Seconds(20);
  absl::Duration max_connection_idle = absl::Minutes(5);
  // Fetch the next Partner Center page while the current one is written: one extra thread and page per stream.
  bool prefetch_pages = true;
  // Shared snapshots (docs/api.md): the default max_staleness (zero: no sharing) and the bytes they may hold.
  absl::Duration snapshot_max_staleness = absl::Minutes(5);
  std::size_t snapshot_cache_bytes = std::size_t{256} << 20;
  // Where shared snapshots live: "memory" (this process's own), or "redis://HOST:PORT[/DB]" ("rediss://" for TLS):
  // shared by the replicas that use the same Redis and key prefix (snapshots/redis_snapshot_store.h), with the
  // password in a file, the TLS files (rediss:// only: the CA file instead of the system trust store, a client
  // certificate and its key, both or neither), the largest snapshot put in Redis, and the bound on each Redis connect
  // and command.
  std::string snapshot_store = "memory";
  std::string redis_password_file;
  std::string redis_tls_ca_file;
  std::string redis_tls_cert_file;
  std::string redis_tls_key_file;
  std::string redis_key_prefix = "pcusage:";
  std::size_t redis_snapshot_max_bytes = std::size_t{64} << 20;
  absl::Duration redis_timeout = absl::Seconds(1);
  // How long a call following another replica's walk waits for its next page before walking itself
  // (RedisStoreOptions::max_wait).
  absl::Duration redis_stall_timeout = absl::Minutes(5);
  absl::Duration redis_command_deadline = absl::Seconds(30);  // each whole Redis command
  // Prometheus metrics at http://<metrics_listen>/metrics (off when empty; ":port" is loopback), served by this many
  // threads (metrics/metrics_server.h).
  std::string metrics_listen;
  int metrics_threads = 2;
  // How long running calls may go on after a drain begins (DrainAndStop).
  absl::Duration drain_timeout = absl::Seconds(30);
  // When the service's health entry turns NOT_SERVING and how it recovers (readiness.h).
  ReadinessOptions readiness;
  // WatchBudgets (watch_budgets_service.h): the least poll interval a watch may ask for (its default is 15 minutes,
  // or this when longer), and how long a watch may run.
  absl::Duration min_watch_poll_interval = absl::Minutes(5);
  absl::Duration max_watch_duration = absl::Hours(24);
};

class PcusageServer {
 public:
  // Checks the options, builds every part and starts serving. INVALID_ARGUMENT naming the flag for a
  // configuration that is incomplete, contradictory or unreadable; FAILED_PRECONDITION when the listener policy
  // refuses the address (listener.h); UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<PcusageServer>> Start(ServerOptions options);

  ~PcusageServer();

  // The port bound (the one asked for, or the one chosen for port 0).
  int port() const { return port_; }
  // The port --metrics_listen bound, or 0 when metrics are off.
  int metrics_port() const;

  // Turns health to NOT_SERVING, stops accepting calls, lets running calls finish until `deadline` and then
  // cancels them.
  void Shutdown(absl::Time deadline);

  // The graceful stop (SIGTERM): health turns NOT_SERVING at once (the listener stays open, so health checks can
  // see it), new ListUsageRecords calls are refused with UNAVAILABLE (SERVER_DRAINING), running ones go on for up to
  // --drain_timeout and then end with UNAVAILABLE (SERVER_DRAINING) after their last message; then Shutdown. Returns
  // how many calls were still running when the drain timed out (0 when all finished on their own).
  int DrainAndStop();

  // Blocks until the server has shut down.
  void Wait();

 private:
  struct Parts;
  PcusageServer(std::unique_ptr<Parts> parts, std::unique_ptr<grpc::Server> server, int port,
                absl::Duration drain_timeout);

  std::unique_ptr<Parts> parts_;  // what the gRPC server serves; outlives it
  std::unique_ptr<grpc::Server> server_;
  int port_;
  absl::Duration drain_timeout_;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_SERVER_H_
