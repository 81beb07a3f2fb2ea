// pcusage_server: flags -> ServerOptions -> PcusageServer (server.h), then serve until SIGINT or SIGTERM.
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "packaging/build_info.h"
#include "server/common/fd_limit.h"
#include "server/common/log.h"
#include "server/common/port_file.h"
#include "server/common/stop_signals.h"
#include "server/library_logs.h"
#include "server/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port ([v6]:port, unix:path) the gRPC server listens on (TLS with --tls_cert_file). A host name is "
          "resolved once and only the first address it resolves to is bound, one socket on one port; whether that "
          "address is loopback decides what the server allows. Port 0 picks a free port; see --port_file.");
ABSL_FLAG(std::string, port_file, "",
          "If set, the port actually bound is written to this file once the server is serving (for supervisors "
          "and tests that listen on port 0).");
ABSL_FLAG(std::string, cloud, "public",
          "Microsoft cloud: public, usgov or china (21Vianet). Chooses the identity platform and the default "
          "--partner_center_url.");
ABSL_FLAG(std::string, partner_center_url, "",
          "Partner Center API root; empty means the --cloud's (public and usgov: "
          "https://api.partnercenter.microsoft.com). Must be https:// (http:// only on a loopback host).");
ABSL_FLAG(std::string, auth_mode, "",
          "Where Partner Center tokens come from: passthrough (each caller's 'authorization: Bearer' metadata), "
          "static (--access_token_file) or refresh_token (the OAuth2 refresh-token grant: --tenant_id, "
          "--client_id, --refresh_token_file). Empty: static when --access_token_file is set, else passthrough.");
ABSL_FLAG(std::string, access_token_file, "",
          "static: file holding a Partner Center App+User access token, re-read whenever it changes.");
ABSL_FLAG(std::string, tenant_id, "", "refresh_token: the partner's tenant id or domain.");
ABSL_FLAG(std::string, client_id, "", "refresh_token: the application (client) id of the App+User app.");
ABSL_FLAG(std::string, client_secret_file, "",
          "refresh_token: file holding the application's client secret; omit for a public client.");
ABSL_FLAG(std::string, refresh_token_file, "",
          "refresh_token: file holding the refresh token; a rotated one is written back to it (mode 0600).");
ABSL_FLAG(std::string, token_url, "",
          "refresh_token: the token endpoint; empty means <cloud authority>/<tenant_id>/oauth2/token. Must be "
          "https:// (http:// only on a loopback host).");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain for the gRPC listener; with --tls_key_file the listener speaks TLS.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for --tls_cert_file.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CAs whose client certificates the listener requires and verifies (mTLS).");
ABSL_FLAG(std::string, client_allow_list_file, "",
          "With --tls_client_ca_file: client certificate identities (subject CN or a SAN), one a line, let in.");
ABSL_FLAG(std::string, api_keys_file, "",
          "Callers must send one of these API keys as 'x-api-key' metadata. One key a line: '<name> <salt hex> "
          "<sha256 hex of salt + key>' (make lines with pcusage_api_key).");
ABSL_FLAG(absl::Duration, listener_reload_interval, absl::Seconds(5),
          "How often at most the listener's files (--tls_cert_file, --tls_key_file, --tls_client_ca_file, "
          "--api_keys_file, --client_allow_list_file) are looked at for a change, at the next connection or call; "
          "a changed file is read again without a restart, and a bad one keeps the one in force (logged).");
ABSL_FLAG(bool, insecure, false,
          "Allow listening on a non-loopback address with server-held credentials (static, refresh_token) without "
          "TLS and caller authentication (API keys or an mTLS allow list): anyone who reaches the port then reads "
          "the partner's billing data.");
ABSL_FLAG(std::string, locale, "en-US", "X-Locale sent to Partner Center.");
ABSL_FLAG(std::string, application_name, "pcusage", "MS-PartnerCenter-Application sent to Partner Center.");
ABSL_FLAG(absl::Duration, page_timeout, absl::Minutes(2),
          "Longest wait for one Partner Center page (connect to last byte); a caller's deadline may shorten it.");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(10), "Longest wait to connect to Partner Center.");
ABSL_FLAG(absl::Duration, max_call_duration, absl::Hours(1),
          "Longest a ListUsageRecords call may run when the caller set no (or a later) deadline.");
ABSL_FLAG(int, max_pages, 10000, "Most Partner Center pages one call follows before failing with INTERNAL.");
ABSL_FLAG(int64_t, max_response_bytes, int64_t{64} << 20,
          "Largest Partner Center page body accepted; a larger one fails the call with FAILED_PRECONDITION.");
ABSL_FLAG(int, max_attempts, 5,
          "Attempts per Partner Center page, the first included: 429 (after Retry-After), 500/502/503/504, connection "
          "failures and page time-outs are retried; other errors never are.");
ABSL_FLAG(absl::Duration, initial_backoff, absl::Milliseconds(500),
          "Backoff ceiling after the first failed attempt; doubles per attempt up to --max_backoff (full jitter).");
ABSL_FLAG(absl::Duration, max_backoff, absl::Seconds(30), "Largest backoff between attempts.");
ABSL_FLAG(absl::Duration, max_retry_after, absl::Minutes(2),
          "A throttled page whose Retry-After asks for longer fails at once with RESOURCE_EXHAUSTED and RetryInfo.");
ABSL_FLAG(std::string, resume_token_key_file, "",
          "File holding the secret (at least 32 bytes) that signs resume tokens; servers sharing it accept each "
          "other's tokens. When empty, a random key is made at start, so tokens do not survive a restart.");
ABSL_FLAG(absl::Duration, resume_token_ttl, absl::Hours(1), "How long a resume token stays valid.");
ABSL_FLAG(std::string, proxy, "",
          "HTTP(S) proxy URL for Partner Center and the token endpoint; http_proxy/https_proxy in the environment "
          "are ignored (a proxy sees the bearer tokens).");
ABSL_FLAG(int, max_concurrent_streams, 100,
          "Most ListUsageRecords streams served at once; more are refused with RESOURCE_EXHAUSTED and a RetryInfo.");
ABSL_FLAG(int, max_streams_per_caller, 50,
          "Most concurrent ListUsageRecords streams of one authenticated caller (an API key or client certificate "
          "identity); more are refused with RESOURCE_EXHAUSTED (CALLER_STREAM_LIMIT_REACHED) and a RetryInfo, so one "
          "caller cannot take every --max_concurrent_streams slot. 0: no bound but the total. Without caller "
          "authentication every caller is the same anonymous one, bounded by the total only.");
ABSL_FLAG(int, max_streams_per_connection, 100,
          "Most concurrent streams one HTTP/2 connection may open (SETTINGS_MAX_CONCURRENT_STREAMS).");
ABSL_FLAG(int, max_auxiliary_streams, 8,
          "Most calls of the reflection and health services served at once, apart from ListUsageRecords's "
          "streams; more are cancelled at once. They pass caller authentication too when it is configured (see "
          "--open_health_checks).");
ABSL_FLAG(absl::Duration, max_auxiliary_stream_duration, absl::Minutes(5),
          "A reflection stream (or another stream of gRPC's services but a health Watch) is cancelled after this "
          "long, and its --max_auxiliary_streams slot and thread freed; the log says why.");
ABSL_FLAG(absl::Duration, max_health_watch_duration, absl::Hours(1),
          "A grpc.health.v1.Health/Watch stream is cancelled after this long (a client that checks health by Watch "
          "opens a new one at once); it holds a --max_auxiliary_streams slot and a handler thread.");
ABSL_FLAG(bool, open_health_checks, false,
          "With caller authentication configured, let callers without an API key or allowed certificate use "
          "grpc.health.v1.Health (load balancers and Kubernetes probes send none); reflection stays authenticated.");
ABSL_FLAG(absl::Duration, handshake_timeout, absl::Seconds(20),
          "A connection that has not finished its TLS and HTTP/2 handshake by then is closed.");
ABSL_FLAG(absl::Duration, max_connection_idle, absl::Minutes(5),
          "A connection with no stream for this long is sent a GOAWAY (clients reconnect when they next call).");
ABSL_FLAG(int, max_threads, 128,
          "Most threads gRPC may use to serve calls (each stream holds one); past it gRPC answers "
          "RESOURCE_EXHAUSTED. At least --max_concurrent_streams + --max_auxiliary_streams + 4.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "On SIGTERM/SIGINT: health turns NOT_SERVING and new calls are refused with UNAVAILABLE at once; running "
          "streams may go on this long, then each ends with UNAVAILABLE (SERVER_DRAINING) after its last message "
          "(resume with its last resume_token on another replica). Exit status 0.");
ABSL_FLAG(int, unready_after_failures, 3,
          "Readiness: the health entry of partnercenter.usage.v1.UsageRecordsService turns NOT_SERVING after this "
          "many upstream requests in a row got no answer (connection, TLS, timeout), or at once when the server-held "
          "credentials cannot get a token; SERVING again at the first answer and token (docs/operations.md). The "
          "overall entry (\"\") stays SERVING while the process lives.");
ABSL_FLAG(absl::Duration, readiness_probe_interval, absl::Seconds(10),
          "While not ready: how often to probe (a token from the server-held credentials, then a GET of the Partner "
          "Center base URL without credentials); 0: only calls make it ready again.");
ABSL_FLAG(std::string, log_format, "text",
          "text: one line per event, \"<time> <LEVEL> <message> key=value ...\"; json: one JSON object per line with "
          "stable keys (time, level, msg, correlation_id, caller, method, code, records, pages, duration_ms, trace_id, "
          "upstream_*; docs/operations.md).");
ABSL_FLAG(std::string, log_level, "info", "The least severe events logged: debug, info, warning or error.");
ABSL_FLAG(bool, prefetch_pages, true,
          "Fetch and translate the next Partner Center page while the current one is written to the caller (one "
          "page ahead at most: a thread and a page more per stream).");
ABSL_FLAG(absl::Duration, snapshot_max_staleness, absl::Minutes(5),
          "Shared snapshots: how old a list fetched for another call may be and still serve a call that does not set "
          "max_staleness; a call arriving while such a walk of Partner Center runs joins it. 0 turns sharing off: "
          "every call walks Partner Center on its own.");
ABSL_FLAG(int64_t, snapshot_cache_bytes, int64_t{256} << 20,
          "Most bytes of translated pages shared snapshots hold, walks in flight included (least recently used "
          "complete snapshots are dropped first; a larger walk still reaches every caller, but is not kept).");
ABSL_FLAG(std::string, snapshot_store, "memory",
          "Where shared snapshots live: 'memory' (this process), or 'redis://HOST:PORT[/DB]' ('rediss://' for TLS, "
          "the server's certificate verified; an IPv6 HOST in brackets; no password here, see "
          "--redis_password_file): replicas using the same Redis and --redis_key_prefix walk Partner "
          "Center once for all of them (docs/api.md, \"Across replicas\"). A Redis that is down or slow never fails "
          "a call: the process's own snapshots serve it.");
ABSL_FLAG(std::string, redis_password_file, "", "File holding the password sent with AUTH to the snapshot Redis.");
ABSL_FLAG(std::string, redis_tls_ca_file, "",
          "With --snapshot_store=rediss://: PEM file of the CAs Redis's certificate must chain to, instead of the "
          "system trust store. The certificate must also name the URL's host (DNS name or IP address).");
ABSL_FLAG(std::string, redis_tls_cert_file, "",
          "With --snapshot_store=rediss://: PEM client certificate (and chain) shown to Redis, for its "
          "tls-auth-clients; needs --redis_tls_key_file.");
ABSL_FLAG(std::string, redis_tls_key_file, "",
          "With --snapshot_store=rediss://: PEM file of --redis_tls_cert_file's private key (unencrypted; keep it "
          "mode 0600).");
ABSL_FLAG(std::string, redis_key_prefix, "pcusage:",
          "Prefix of every Redis key; replicas share snapshots only with the same prefix. Deployments for different "
          "partners with server-held credentials sharing one Redis must use different prefixes.");
ABSL_FLAG(absl::Duration, redis_stall_timeout, absl::Minutes(5),
          "How long a call following another replica's walk through Redis waits for its next page (that walk's lock "
          "still held) before this replica walks itself, on from the next page; keep it a few times --page_timeout.");
ABSL_FLAG(int64_t, redis_snapshot_max_bytes, int64_t{64} << 20,
          "Largest snapshot put in Redis (encoded bytes); a larger walk serves its own replica only.");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Seconds(1),
          "Bound on each Redis connect (name resolution included) and on each socket wait of a command; past it "
          "the call is served by this process alone.");
ABSL_FLAG(absl::Duration, redis_command_deadline, absl::Seconds(30),
          "Bound on each whole Redis command, its reply however slowly it trickles in (--redis_timeout bounds each "
          "socket wait); a stream read's wait for another replica's next page is added to it. The default lets a "
          "64 MiB snapshot through at about 2.2 MiB/s; past it the call is served by this process alone.");
ABSL_FLAG(std::string, ca_bundle_file, "",
          "PEM bundle of CAs to verify the TLS certificates of Partner Center and the token endpoint with, instead "
          "of the system's.");
ABSL_FLAG(
    std::string, metrics_listen, "",
    "Serve Prometheus metrics at http://HOST:PORT/metrics (docs/operations.md lists them); empty: off. "
    "':PORT' or 'PORT' listens on 127.0.0.1; any other host only when named, e.g. 0.0.0.0:9464 (metrics carry "
    "no secrets and no caller-chosen values, but tell how busy the server is). Port 0 picks a free port, logged.");
ABSL_FLAG(int, metrics_threads, 2,
          "Scrapes the metrics listener serves at once; 4x as many connections wait, then it stops accepting until "
          "one is done. Each request has 5s to arrive and 5s to be sent.");
ABSL_FLAG(absl::Duration, min_watch_poll_interval, absl::Minutes(5),
          "The least poll_interval a WatchBudgets call may ask for (shorter is INVALID_ARGUMENT); its default is 15m, "
          "or this when longer. Watches poll the shared snapshots, so this bounds how often they walk Partner Center.");
ABSL_FLAG(absl::Duration, max_watch_duration, absl::Hours(24),
          "A WatchBudgets call without an earlier deadline ends with DEADLINE_EXCEEDED after this long (its caller "
          "reconnects and gets the level again).");

namespace pcusage {
namespace {

ServerOptions OptionsFromFlags() {
  ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.insecure = absl::GetFlag(FLAGS_insecure);
  options.listener.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.listener.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.listener.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  options.listener.client_allow_list_file = absl::GetFlag(FLAGS_client_allow_list_file);
  options.listener.api_keys_file = absl::GetFlag(FLAGS_api_keys_file);
  options.listener.reload_interval = absl::GetFlag(FLAGS_listener_reload_interval);
  options.cloud = absl::GetFlag(FLAGS_cloud);
  options.credentials.auth_mode = absl::GetFlag(FLAGS_auth_mode);
  options.credentials.access_token_file = absl::GetFlag(FLAGS_access_token_file);
  options.credentials.tenant_id = absl::GetFlag(FLAGS_tenant_id);
  options.credentials.client_id = absl::GetFlag(FLAGS_client_id);
  options.credentials.client_secret_file = absl::GetFlag(FLAGS_client_secret_file);
  options.credentials.refresh_token_file = absl::GetFlag(FLAGS_refresh_token_file);
  options.credentials.token_url = absl::GetFlag(FLAGS_token_url);
  options.client.base_url = absl::GetFlag(FLAGS_partner_center_url);
  options.client.locale = absl::GetFlag(FLAGS_locale);
  options.client.application_name = absl::GetFlag(FLAGS_application_name);
  options.client.page_timeout = absl::GetFlag(FLAGS_page_timeout);
  options.client.max_pages = absl::GetFlag(FLAGS_max_pages);
  options.client.retry.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  options.client.retry.initial_backoff = absl::GetFlag(FLAGS_initial_backoff);
  options.client.retry.max_backoff = absl::GetFlag(FLAGS_max_backoff);
  options.client.retry.max_retry_after = absl::GetFlag(FLAGS_max_retry_after);
  const int64_t max_response_bytes = absl::GetFlag(FLAGS_max_response_bytes);
  options.transport.max_response_bytes = max_response_bytes < 0 ? 0 : static_cast<std::size_t>(max_response_bytes);
  options.transport.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.transport.ca_bundle_file = absl::GetFlag(FLAGS_ca_bundle_file);
  options.transport.proxy = absl::GetFlag(FLAGS_proxy);
  options.resume_token_key_file = absl::GetFlag(FLAGS_resume_token_key_file);
  options.resume_token_ttl = absl::GetFlag(FLAGS_resume_token_ttl);
  options.max_call_duration = absl::GetFlag(FLAGS_max_call_duration);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.max_streams_per_caller = absl::GetFlag(FLAGS_max_streams_per_caller);
  options.max_streams_per_connection = absl::GetFlag(FLAGS_max_streams_per_connection);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.max_auxiliary_streams = absl::GetFlag(FLAGS_max_auxiliary_streams);
  options.open_health_checks = absl::GetFlag(FLAGS_open_health_checks);
  options.max_auxiliary_stream_duration = absl::GetFlag(FLAGS_max_auxiliary_stream_duration);
  options.max_health_watch_duration = absl::GetFlag(FLAGS_max_health_watch_duration);
  options.handshake_timeout = absl::GetFlag(FLAGS_handshake_timeout);
  options.max_connection_idle = absl::GetFlag(FLAGS_max_connection_idle);
  options.prefetch_pages = absl::GetFlag(FLAGS_prefetch_pages);
  options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  options.readiness.failures_to_unready = absl::GetFlag(FLAGS_unready_after_failures);
  options.readiness.probe_interval = absl::GetFlag(FLAGS_readiness_probe_interval);
  options.snapshot_max_staleness = absl::GetFlag(FLAGS_snapshot_max_staleness);
  const int64_t snapshot_cache_bytes = absl::GetFlag(FLAGS_snapshot_cache_bytes);
  options.snapshot_cache_bytes = snapshot_cache_bytes < 0 ? 0 : static_cast<std::size_t>(snapshot_cache_bytes);
  options.snapshot_store = absl::GetFlag(FLAGS_snapshot_store);
  options.redis_password_file = absl::GetFlag(FLAGS_redis_password_file);
  options.redis_tls_ca_file = absl::GetFlag(FLAGS_redis_tls_ca_file);
  options.redis_tls_cert_file = absl::GetFlag(FLAGS_redis_tls_cert_file);
  options.redis_tls_key_file = absl::GetFlag(FLAGS_redis_tls_key_file);
  options.redis_key_prefix = absl::GetFlag(FLAGS_redis_key_prefix);
  options.redis_stall_timeout = absl::GetFlag(FLAGS_redis_stall_timeout);
  const int64_t redis_snapshot_max_bytes = absl::GetFlag(FLAGS_redis_snapshot_max_bytes);
  options.redis_snapshot_max_bytes =
      redis_snapshot_max_bytes < 0 ? 0 : static_cast<std::size_t>(redis_snapshot_max_bytes);
  options.redis_timeout = absl::GetFlag(FLAGS_redis_timeout);
  options.redis_command_deadline = absl::GetFlag(FLAGS_redis_command_deadline);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.metrics_threads = absl::GetFlag(FLAGS_metrics_threads);
  options.min_watch_poll_interval = absl::GetFlag(FLAGS_min_watch_poll_interval);
  options.max_watch_duration = absl::GetFlag(FLAGS_max_watch_duration);
  return options;
}

// Waits for SIGINT or SIGTERM (blocked in every thread since main), then drains the server.
void DrainOnSignal(PcusageServer& server) {
  const int signal_number = WaitForStopSignal();
  LogInfo("received signal ", signal_number,
          "; draining: health NOT_SERVING, new calls refused, running calls may go on for up to ",
          absl::FormatDuration(absl::GetFlag(FLAGS_drain_timeout)));
  const int cut_short = server.DrainAndStop();
  if (cut_short > 0) {
    LogWarning("--drain_timeout passed with ", cut_short,
               " calls running; each ended with UNAVAILABLE (SERVER_DRAINING) after its last message, to be resumed "
               "elsewhere");
  }
}

// Every connection takes a descriptor: the soft limit (often 1024) would let a thousand idle peers stop accept.
void RaiseFdLimit() {
  absl::StatusOr<FdLimit> limit = RaiseFdLimitToHard();
  if (!limit.ok()) {
    LogWarning("file descriptor limit not raised: ", limit.status().message());
  } else if (limit->after != limit->before) {
    LogInfo("file descriptor limit (RLIMIT_NOFILE) raised from ", limit->before, " to ", limit->after);
  } else {
    LogInfo("file descriptor limit (RLIMIT_NOFILE): ", limit->after, " (the hard limit)");
  }
}

// Applies --log_format and --log_level; false (having said why) when either is invalid.
bool ConfigureLog() {
  absl::StatusOr<LogFormat> format = ParseLogFormat(absl::GetFlag(FLAGS_log_format));
  if (!format.ok()) {
    LogError("--log_format ", format.status().message());
    return false;
  }
  SetLogFormat(*format);
  absl::StatusOr<LogLevel> level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) {
    LogError("--log_level ", level.status().message());
    return false;
  }
  SetMinLogLevel(*level);
  return true;
}

int Run() {
  RaiseFdLimit();
  absl::StatusOr<std::unique_ptr<PcusageServer>> server = PcusageServer::Start(OptionsFromFlags());
  if (!server.ok()) {
    LogError(server.status().message());
    return server.status().code() == absl::StatusCode::kUnavailable ? 1 : 2;
  }
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (absl::Status written = port_file.empty() ? absl::OkStatus() : WritePortFile(port_file, (*server)->port());
      !written.ok()) {
    LogError("--port_file: ", written.message());
    (*server)->Shutdown(absl::Now());
    return 1;
  }
  std::thread signal_waiter([&server] { DrainOnSignal(**server); });
  (*server)->Wait();
  signal_waiter.join();
  LogInfo("pcusage stopped");
  return 0;
}

}  // namespace
}  // namespace pcusage

int main(int argc, char** argv) {
  // Before any thread starts, so only the waiter thread receives them.
  pcusage::BlockStopSignals();
  // Debian's Abseil checks every mutex acquisition for lock-order cycles (a debug aid that costs a graph update per
  // lock); the unit tests keep it, the server does without.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  absl::SetProgramUsageMessage(
      "streams Microsoft Partner Center usage records (GET /v1/customers/usagerecords) over gRPC as "
      "partnercenter.usage.v1.UsageRecordsService/ListUsageRecords.\n"
      "Usage: pcusage_server [--listen=127.0.0.1:50051] [--auth_mode=passthrough|static|refresh_token] ...");
  // absl's --help lists only flags from a file named after the binary; the flags live here.
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) { return absl::EndsWith(file, "server/main.cc"); };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  usage_config.version_string = [] { return pcusage::build_info::VersionText("pcusage_server"); };
  absl::SetFlagsUsageConfig(usage_config);
  // absl::ParseCommandLine (Abseil 20220623) exits with status 1 after --help; the usage flags are answered here
  // instead, so --help, --helpfull and --version exit 0 (unknown flags and bad values still exit 1).
  const std::vector<char*> arguments = absl::flags_internal::ParseCommandLineImpl(
      argc, argv, absl::flags_internal::ArgvListAction::kRemoveParsedArgs,
      absl::flags_internal::UsageFlagsAction::kIgnoreUsage, absl::flags_internal::OnUndefinedFlag::kAbortIfUndefined);
  if (absl::flags_internal::HandleUsageFlags(std::cout, absl::ProgramUsageMessage()) != -1) return 0;
  if (!pcusage::ConfigureLog()) return 2;
  pcusage::RouteLibraryLogs();
  if (arguments.size() > 1) {
    pcusage::LogError("unexpected arguments after the flags (see --help)");
    return 2;
  }
  return pcusage::Run();
}
