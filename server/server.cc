#include "server/server.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "server/call_watchdog.h"
#include "server/callers/auxiliary_services_gate.h"
#include "server/callers/call_gate.h"
#include "server/common/files.h"
#include "server/common/log.h"
#include "server/common/loopback.h"
#include "server/drain.h"
#include "server/health_service.h"
#include "server/metrics/instrumented_transport.h"
#include "server/metrics/metrics_server.h"
#include "server/metrics/rpc_metrics.h"
#include "server/readiness.h"
#include "server/resume_token.h"
#include "server/snapshots/redis_client.h"
#include "server/usage_records_service.h"
#include "server/watch_budgets_service.h"

namespace pcusage {
namespace {

// Wraps a part's own error so the message names the flags it came from, and every configuration error is
// INVALID_ARGUMENT.
absl::Status ConfigError(absl::string_view flags, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(flags, ": ", status.message()));
}

// Secrets in files readable by other users are one `cat` away from leaking: say so at start.
void WarnAboutSecretFilePermissions(const ServerOptions& options) {
  const std::pair<const char*, std::string> secret_files[] = {
      {"--access_token_file", options.credentials.access_token_file},
      {"--refresh_token_file", options.credentials.refresh_token_file},
      {"--client_secret_file", options.credentials.client_secret_file},
      {"--resume_token_key_file", options.resume_token_key_file},
      {"--tls_key_file", options.listener.tls_key_file},
      {"--redis_tls_key_file", options.redis_tls_key_file},
  };
  for (const auto& [flag, path] : secret_files) {
    struct stat info;
    if (path.empty() || stat(path.c_str(), &info) != 0 || (info.st_mode & 077) == 0) continue;
    LogWarning(flag, " ", path, " is readable or writable by other users (mode ",
               absl::StrFormat("%04o", info.st_mode & 07777), "); restrict it to the server's user (chmod 600)");
  }
}

// A duration as the int milliseconds a channel argument takes.
int ClampedMilliseconds(absl::Duration duration) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(duration), std::numeric_limits<int>::max()));
}

// With --snapshot_store=rediss://...: the TLS context of the Redis client, from the --redis_tls_* files (the system
// trust store without --redis_tls_ca_file). A configuration error names the flag.
absl::StatusOr<std::shared_ptr<const snapshots::RedisTlsContext>> MakeRedisTls(const ServerOptions& options) {
  if (options.redis_tls_cert_file.empty() != options.redis_tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--redis_tls_cert_file and --redis_tls_key_file go together (a client certificate and its key): give both or "
        "neither");
  }
  snapshots::RedisTlsOptions tls;
  const std::pair<const char*, std::pair<const std::string*, std::string*>> files[] = {
      {"--redis_tls_ca_file", {&options.redis_tls_ca_file, &tls.ca_pem}},
      {"--redis_tls_cert_file", {&options.redis_tls_cert_file, &tls.cert_pem}},
      {"--redis_tls_key_file", {&options.redis_tls_key_file, &tls.key_pem}},
  };
  for (const auto& [flag, file] : files) {
    if (file.first->empty()) continue;
    absl::StatusOr<std::string> pem = ReadSmallFile(*file.first, std::size_t{1} << 20);
    if (!pem.ok()) return ConfigError(flag, pem.status());
    *file.second = *std::move(pem);
  }
  snapshots::RedisTlsInput bad = snapshots::RedisTlsInput::kCa;
  absl::StatusOr<std::shared_ptr<const snapshots::RedisTlsContext>> context = snapshots::NewRedisTlsContext(tls, &bad);
  if (context.ok()) return context;
  switch (bad) {
    case snapshots::RedisTlsInput::kCa:
      return ConfigError(options.redis_tls_ca_file.empty() ? "--redis_tls_ca_file (not given: the system trust store)"
                                                           : "--redis_tls_ca_file",
                         context.status());
    case snapshots::RedisTlsInput::kCert:
      return ConfigError("--redis_tls_cert_file", context.status());
    case snapshots::RedisTlsInput::kKey:
      return ConfigError("--redis_tls_key_file", context.status());
  }
  return context.status();
}

// With --snapshot_store=redis://... or rediss://...: the Redis client and its options for the page opener.
absl::Status ConfigureRedisSnapshots(const ServerOptions& options, PageOpenerOptions& pages) {
  const bool tls_files =
      !options.redis_tls_ca_file.empty() || !options.redis_tls_cert_file.empty() || !options.redis_tls_key_file.empty();
  absl::StatusOr<snapshots::RedisAddress> address = snapshots::ParseRedisUrl(options.snapshot_store);
  if (tls_files && (options.snapshot_store == "memory" || (address.ok() && !address->tls))) {
    return absl::InvalidArgumentError(
        "--redis_tls_ca_file, --redis_tls_cert_file and --redis_tls_key_file need --snapshot_store=rediss://... "
        "(Redis over TLS)");
  }
  if (options.snapshot_store == "memory") return absl::OkStatus();
  if (!address.ok()) return ConfigError("--snapshot_store", address.status());
  if (options.snapshot_max_staleness <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--snapshot_store=redis://... shares snapshots: --snapshot_max_staleness must be "
        "positive");
  }
  if (options.redis_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--redis_timeout must be positive");
  }
  if (options.redis_stall_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--redis_stall_timeout must be positive");
  }
  if (options.redis_command_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--redis_command_deadline must be positive");
  }
  snapshots::HiredisOptions redis;
  redis.address = *address;
  if (!options.redis_password_file.empty()) {
    absl::StatusOr<std::string> password = ReadSmallFile(options.redis_password_file, 4096);
    if (!password.ok()) return ConfigError("--redis_password_file", password.status());
    redis.password = std::string(absl::StripAsciiWhitespace(*password));
  }
  if (address->tls) {
    absl::StatusOr<std::shared_ptr<const snapshots::RedisTlsContext>> tls = MakeRedisTls(options);
    if (!tls.ok()) return tls.status();
    redis.tls = *std::move(tls);
  }
  redis.connect_timeout = options.redis_timeout;
  redis.command_timeout = options.redis_timeout;
  redis.command_deadline = options.redis_command_deadline;
  redis.max_reply_bytes = options.redis_snapshot_max_bytes;
  pages.redis = snapshots::NewHiredisClient(std::move(redis));
  pages.redis_store.key_prefix = options.redis_key_prefix;
  pages.redis_store.snapshot_ttl = options.snapshot_max_staleness;
  pages.redis_store.max_snapshot_bytes = options.redis_snapshot_max_bytes;
  pages.redis_store.max_wait = options.redis_stall_timeout;
  return absl::OkStatus();
}

absl::Status CheckBounds(const ServerOptions& options) {
  if (options.transport.max_response_bytes < 1024) {
    return absl::InvalidArgumentError("--max_response_bytes must be at least 1024");
  }
  if (options.max_call_duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--max_call_duration must be positive");
  }
  if (options.max_streams_per_caller < 0) {
    return absl::InvalidArgumentError("--max_streams_per_caller must not be negative");
  }
  if (options.max_concurrent_streams < 1 || options.max_streams_per_connection < 1) {
    return absl::InvalidArgumentError("--max_concurrent_streams and --max_streams_per_connection must be positive");
  }
  if (options.snapshot_max_staleness < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--snapshot_max_staleness must not be negative (0 turns sharing off)");
  }
  if (options.snapshot_max_staleness > absl::ZeroDuration() && options.snapshot_cache_bytes < (std::size_t{1} << 20)) {
    return absl::InvalidArgumentError(
        "--snapshot_cache_bytes must be at least 1 MiB (to turn shared snapshots off, --snapshot_max_staleness=0)");
  }
  if (options.readiness.failures_to_unready < 1 || options.readiness.probe_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--unready_after_failures must be positive and --readiness_probe_interval not negative");
  }
  if (options.drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--drain_timeout must not be negative");
  }
  if (options.max_auxiliary_streams < 1) return absl::InvalidArgumentError("--max_auxiliary_streams must be positive");
  if (options.max_auxiliary_stream_duration < absl::Milliseconds(1) ||
      options.max_health_watch_duration < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(
        "--max_auxiliary_stream_duration and --max_health_watch_duration must be at least 1ms");
  }
  if (options.handshake_timeout < absl::Milliseconds(1) || options.max_connection_idle < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("--handshake_timeout and --max_connection_idle must be at least 1ms");
  }
  if (options.max_threads < options.max_concurrent_streams + options.max_auxiliary_streams + 4) {
    return absl::InvalidArgumentError(
        "--max_threads must be at least --max_concurrent_streams + --max_auxiliary_streams + 4 (gRPC's pollers, "
        "and threads to refuse calls past the stream limits with a clear error)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const ResumeTokenCodec>> MakeResumeTokenCodec(const ServerOptions& options) {
  absl::StatusOr<std::string> key;
  if (options.resume_token_key_file.empty()) {
    key = ResumeTokenCodec::RandomKey();
  } else {
    constexpr std::size_t kMaxKeyFileBytes = 4096;
    key = ReadSmallFile(options.resume_token_key_file, kMaxKeyFileBytes);
  }
  if (!key.ok()) return ConfigError("--resume_token_key_file", key.status());
  absl::StatusOr<std::unique_ptr<ResumeTokenCodec>> codec = ResumeTokenCodec::Create(*key, options.resume_token_ttl);
  if (!codec.ok()) return ConfigError("--resume_token_key_file/--resume_token_ttl", codec.status());
  return std::shared_ptr<const ResumeTokenCodec>(*std::move(codec));
}

// The --metrics_listen endpoint, or none when the flag is empty.
absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> StartMetricsServer(const ServerOptions& options) {
  if (options.metrics_listen.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> server =
      metrics::MetricsServer::Start(metrics::ProcessRegistry(), {options.metrics_listen, options.metrics_threads});
  if (!server.ok()) {
    return server.status().code() == absl::StatusCode::kInvalidArgument
               ? ConfigError("--metrics_listen/--metrics_threads", server.status())
               : server.status();
  }
  LogInfo("metrics at ", (*server)->url(), (*server)->loopback() ? "" : " (not loopback: reachable from other hosts)");
  return server;
}

}  // namespace

// Everything the gRPC server serves, built before it starts and destroyed after it stops.
struct PcusageServer::Parts {
  Listener listener;
  ListenerExposure exposure;
  std::string bind_address;            // the one numeric address --listen resolved to
  std::optional<std::string> warning;  // about the listener's exposure, logged once serving
  std::string description;             // for the start-up log line
  std::shared_ptr<Drain> drain = std::make_shared<Drain>();
  std::shared_ptr<Readiness> readiness;
  Readiness::Probe readiness_probe;
  std::unique_ptr<UsageRecordsService> service;
  std::unique_ptr<WatchBudgetsService> watch_service;      // polls service's snapshots: destroyed first
  std::unique_ptr<metrics::MetricsServer> metrics_server;  // null without --metrics_listen
  // Cancels reflection and health streams past their duration bounds (callers/auxiliary_services_gate.h); outlives
  // the gRPC server, so every stream's timer is gone before it is.
  std::unique_ptr<CallWatchdog> auxiliary_watchdog = std::make_unique<CallWatchdog>();

  // Builds every part from `options` (whose empty Partner Center URL becomes the cloud's); nothing listens yet.
  static absl::StatusOr<std::unique_ptr<Parts>> Build(ServerOptions& options);
};

absl::StatusOr<std::unique_ptr<PcusageServer::Parts>> PcusageServer::Parts::Build(ServerOptions& options) {
  absl::StatusOr<tokens::Cloud> cloud = tokens::CloudPreset(options.cloud);
  if (!cloud.ok()) return cloud.status();
  auto readiness = std::make_shared<Readiness>(options.readiness);
  const std::shared_ptr<http::HttpTransport> transport =
      ObservedForReadiness(std::make_shared<http::CurlTransport>(options.transport), readiness);
  options.credentials.cloud = *cloud;
  absl::StatusOr<tokens::Credentials> credentials =
      tokens::MakeCredentials(options.credentials, metrics::Instrumented(transport, metrics::Upstream::kTokenEndpoint));
  if (!credentials.ok()) return credentials.status();
  auto parts = std::make_unique<Parts>();
  parts->readiness = readiness;
  const std::shared_ptr<tokens::AccessTokenSource> token_source =
      credentials->server_holds_credentials() ? ObservedForReadiness(credentials->source, readiness)
                                              : credentials->source;
  absl::StatusOr<Listener> listener = MakeListener(options.listener);
  if (!listener.ok()) return listener.status();
  parts->listener = *std::move(listener);
  absl::StatusOr<ListenAddress> listen = ResolveListenAddress(options.listen);
  if (!listen.ok()) return ConfigError("--listen", listen.status());
  parts->bind_address = listen->bind;
  // What the policy and the warning name: the flag, and the address it became when that differs.
  const std::string listen_text =
      listen->bind == options.listen ? options.listen : absl::StrCat(options.listen, " (", listen->bind, ")");
  parts->exposure.loopback = listen->loopback;
  parts->exposure.tls = parts->listener.tls;
  parts->exposure.callers_authenticated = parts->listener.callers->enabled();
  parts->exposure.server_holds_credentials = credentials->server_holds_credentials();
  parts->exposure.insecure = options.insecure;
  if (absl::Status policy = CheckListenerPolicy(parts->exposure, listen_text); !policy.ok()) return policy;
  parts->warning = ListenerWarning(parts->exposure, listen_text);

  if (options.client.base_url.empty()) options.client.base_url = cloud->partner_center_url;
  absl::StatusOr<std::unique_ptr<partner_center::UsageClient>> client = partner_center::UsageClient::Create(
      metrics::Instrumented(transport, metrics::Upstream::kPartnerCenter), options.client);
  if (!client.ok()) return ConfigError("Partner Center client flags", client.status());
  absl::StatusOr<std::shared_ptr<const ResumeTokenCodec>> resume_tokens = MakeResumeTokenCodec(options);
  if (!resume_tokens.ok()) return resume_tokens.status();
  UsageRecordsServiceOptions service_options;
  service_options.max_call_duration = options.max_call_duration;
  service_options.pages.prefetch_pages = options.prefetch_pages;
  service_options.pages.snapshot_max_staleness = options.snapshot_max_staleness;
  service_options.pages.snapshots.cache_bytes = options.snapshot_cache_bytes;
  if (absl::Status redis = ConfigureRedisSnapshots(options, service_options.pages); !redis.ok()) return redis;
  service_options.drain = parts->drain;
  parts->readiness_probe = ReadinessProbe(transport, token_source, options.client.base_url);
  WatchBudgetsOptions watch_options;
  watch_options.default_poll_interval = std::max(watch_options.default_poll_interval, options.min_watch_poll_interval);
  watch_options.min_poll_interval = options.min_watch_poll_interval;
  watch_options.max_watch_duration = options.max_watch_duration;
  watch_options.first_page = (*client)->FirstPage();
  watch_options.drain = parts->drain;
  // Watches and lists take the same stream slots.
  auto gate = std::make_shared<callers::CallGate>(parts->listener.callers, options.max_concurrent_streams,
                                                  options.max_streams_per_caller);
  parts->service = std::make_unique<UsageRecordsService>(*std::move(client), token_source, *std::move(resume_tokens),
                                                         gate, service_options);
  parts->watch_service =
      std::make_unique<WatchBudgetsService>(parts->service->page_opener(), gate, std::move(watch_options));
  parts->description = absl::StrCat(
      parts->listener.tls ? " (TLS" : " (plaintext",
      parts->exposure.callers_authenticated ? ", callers authenticated)" : ")", " -> Partner Center ",
      options.client.base_url, ", tokens from ", credentials->description,
      options.snapshot_max_staleness > absl::ZeroDuration()
          ? absl::StrCat(", shared snapshots up to ", absl::FormatDuration(options.snapshot_max_staleness),
                         " old by default (", options.snapshot_cache_bytes >> 20, " MiB",
                         service_options.pages.redis != nullptr ? ", shared with replicas through Redis" : "", ")")
          : ", shared snapshots off");
  return parts;
}

absl::StatusOr<std::unique_ptr<PcusageServer>> PcusageServer::Start(ServerOptions options) {
  WarnAboutSecretFilePermissions(options);
  if (absl::Status bounds = CheckBounds(options); !bounds.ok()) return bounds;
  absl::StatusOr<std::unique_ptr<Parts>> parts = Parts::Build(options);
  if (!parts.ok()) return parts.status();
  absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> metrics_server = StartMetricsServer(options);
  if (!metrics_server.ok()) return metrics_server.status();
  (*parts)->metrics_server = *std::move(metrics_server);

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Ours, on the synchronous API, instead of gRPC's default (health_service.h says why); the server owns it.
  auto health_service = std::make_unique<HealthService>();
  builder.RegisterService(health_service.get());
  builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(std::move(health_service)));
  grpc::ResourceQuota quota("pcusage");
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_streams_per_connection);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, ClampedMilliseconds(options.handshake_timeout));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, ClampedMilliseconds(options.max_connection_idle));
  // With SO_REUSEPORT gRPC opens a second listening socket per poller, bound to the address asked for: for port 0,
  // another random port, serving the same service and reported nowhere. Without it another process cannot bind the
  // port beside this one and take its connections either.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  builder.AddListeningPort((*parts)->bind_address, (*parts)->listener.credentials, &port);
  builder.RegisterService((*parts)->service.get());
  builder.RegisterService((*parts)->watch_service.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<metrics::RpcMetrics>());
  callers::AuxiliaryStreamDurations auxiliary_durations;
  auxiliary_durations.stream = options.max_auxiliary_stream_duration;
  auxiliary_durations.health_watch = options.max_health_watch_duration;
  interceptors.push_back(std::make_unique<callers::AuxiliaryServicesGate>(
      std::make_shared<callers::CallGate>((*parts)->listener.callers, options.max_auxiliary_streams),
      options.open_health_checks, auxiliary_durations,
      [watchdog = (*parts)->auxiliary_watchdog.get()](std::function<void()> expire, absl::Time deadline)
          -> std::shared_ptr<void> { return watchdog->Start(std::move(expire), deadline); }));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", (*parts)->bind_address, " (--listen=",
                                               options.listen, "): address in use, or not on this machine"));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  (*parts)->readiness->SetPublisher([health](bool serving) { health->SetServingStatus(kServiceName, serving); });
  (*parts)->readiness->StartProbe(std::move((*parts)->readiness_probe));
  if ((*parts)->warning.has_value()) LogWarning(*(*parts)->warning);
  const std::string& bound = (*parts)->bind_address;
  LogInfo("pcusage serving ", kServiceName, " on ",
          absl::StartsWith(bound, "unix") ? bound : absl::StrCat(bound.substr(0, bound.rfind(':')), ":", port),
          (*parts)->description);
  return std::unique_ptr<PcusageServer>(
      new PcusageServer(*std::move(parts), std::move(server), port, options.drain_timeout));
}

PcusageServer::PcusageServer(std::unique_ptr<Parts> parts, std::unique_ptr<grpc::Server> server, int port,
                             absl::Duration drain_timeout)
    : parts_(std::move(parts)), server_(std::move(server)), port_(port), drain_timeout_(drain_timeout) {}

PcusageServer::~PcusageServer() {
  // Walks of shared snapshots may outlive the gRPC server, whose health service readiness publishes to.
  parts_->readiness->Freeze();
  parts_->readiness->StopProbe();
}

void PcusageServer::Shutdown(absl::Time deadline) {
  server_->GetHealthCheckService()->Shutdown();
  server_->Shutdown(absl::ToChronoTime(deadline));
}

int PcusageServer::DrainAndStop() {
  // Calls that the drain's end asked to stop need a moment to send their last message and status.
  constexpr absl::Duration kEndingGrace = absl::Seconds(2);
  parts_->readiness->Freeze();
  server_->GetHealthCheckService()->SetServingStatus(false);
  const absl::Time deadline = absl::Now() + drain_timeout_;
  parts_->drain->Begin(deadline);
  int cut_short = 0;
  if (!parts_->drain->AwaitCallsEnded(deadline)) {
    cut_short = parts_->drain->running_calls();
    parts_->drain->AwaitCallsEnded(absl::Now() + kEndingGrace);
  }
  // What still runs now is blocked writing to a caller that stopped reading: gRPC cancels it.
  Shutdown(absl::Now() + absl::Seconds(1));
  return cut_short;
}

void PcusageServer::Wait() { server_->Wait(); }

int PcusageServer::metrics_port() const {
  return parts_->metrics_server == nullptr ? 0 : parts_->metrics_server->port();
}

}  // namespace pcusage
