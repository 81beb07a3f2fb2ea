#include "server/metrics/pcusage_metrics.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "packaging/build_info.h"
#include "server/common/log.h"

namespace pcusage::metrics {
namespace {

// The methods this server serves: its own, the standard health service and reflection.
const std::vector<std::string>& KnownMethods() {
  static const auto* const kMethods = new std::vector<std::string>{
      "partnercenter.usage.v1.UsageRecordsService/ListUsageRecords",
      "partnercenter.usage.v1.UsageRecordsService/WatchBudgets",
      "grpc.health.v1.Health/Check",
      "grpc.health.v1.Health/Watch",
      "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  };
  return *kMethods;
}

std::vector<std::string> GrpcCodes() {
  std::vector<std::string> codes;
  for (int code = 0; code <= 16; ++code) codes.push_back(absl::StatusCodeToString(static_cast<absl::StatusCode>(code)));
  return codes;
}

constexpr int kStatusesApart[] = {200, 400, 401, 403, 404, 408, 409, 429, 500, 502, 503, 504};

std::vector<std::string> UpstreamStatuses() {
  std::vector<std::string> statuses;
  for (int status : kStatusesApart) statuses.push_back(absl::StrCat(status));
  for (const char* other :
       {"1xx", "2xx", "3xx", "4xx", "5xx", "unreachable", "timeout", "cancelled", "too_large", "tls", "failed"}) {
    statuses.emplace_back(other);
  }
  return statuses;
}

const LabelSpec kUpstreamLabel{"upstream", {"partner_center", "token_endpoint"}};

// Seconds: from a quick page of the emulator to Partner Center's slowest pages (--page_timeout defaults to 2m).
const std::vector<double> kUpstreamDurationBounds = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

// The catalog's families are constants: a wrong one is a programming error the catalog's test finds at its start.
template <typename T>
T* Must(absl::StatusOr<T*> added) {
  if (!added.ok()) {
    LogError("metrics catalog: ", added.status().message());
    std::abort();
  }
  return *added;
}

PcusageMetrics Declare(Registry& registry) {
  PcusageMetrics m;
  m.build_info = Must(registry.AddGauge("pcusage_build_info",
                                        "The running pcusage_server: version, git commit and build mode; always 1.",
                                        {{"version", {std::string(build_info::Version())}},
                                         {"commit", {std::string(build_info::Commit())}},
                                         {"build_mode", {std::string(build_info::BuildMode())}}}));
  m.build_info->Labels({build_info::Version(), build_info::Commit(), build_info::BuildMode()}).Set(1);
  m.rpcs = Must(registry.AddCounter("pcusage_rpcs_total", "gRPC calls finished, by method and status code.",
                                    {{"method", KnownMethods()}, {"code", GrpcCodes()}}));
  m.active_streams = Must(
      registry.AddGauge("pcusage_active_streams", "gRPC calls in progress, by method.", {{"method", KnownMethods()}}));
  m.records = Must(registry.AddCounter("pcusage_records_streamed_total",
                                       "Usage records handed to gRPC in ListUsageRecords messages."));
  m.messages = Must(
      registry.AddCounter("pcusage_messages_streamed_total", "ListUsageRecords response messages handed to gRPC."));
  m.upstream_requests = Must(registry.AddCounter(
      "pcusage_upstream_requests_total",
      "Requests to Partner Center and the token endpoint (every attempt), by HTTP status, or by what failed when "
      "no response came.",
      {kUpstreamLabel, {"status", UpstreamStatuses()}}));
  m.upstream_durations =
      Must(registry.AddHistogram("pcusage_upstream_request_duration_seconds",
                                 "How long each upstream request took, connection to last byte (for partner_center: "
                                 "one attempt at one page).",
                                 kUpstreamDurationBounds, {kUpstreamLabel}));
  const LabelSpec reason{"reason", {"throttled", "server_error", "connection", "timeout"}};
  m.retries = Must(registry.AddCounter("pcusage_upstream_retries_total",
                                       "Upstream requests retried, by why (throttled: HTTP 429).", {reason}));
  m.retry_wait = Must(registry.AddCounter(
      "pcusage_upstream_retry_wait_seconds_total",
      "Seconds waited before upstream retries, by why (throttled: the Retry-After Partner Center asked for).",
      {reason}));
  m.token_refreshes = Must(registry.AddCounter(
      "pcusage_token_refreshes_total",
      "Refresh-token grants at the token endpoint (--auth_mode=refresh_token), by result, retries included in one.",
      {{"result", {"ok", "failed"}}}));
  m.snapshot_opens = Must(registry.AddCounter(
      "pcusage_snapshot_opens_total",
      "Calls that opened a shared snapshot: hit (a complete one), join (a walk in flight), miss (a walk started), "
      "resume (the snapshot a resume token names).",
      {{"outcome", {"hit", "join", "miss", "resume"}}}));
  m.snapshot_redis = Must(registry.AddCounter(
      "pcusage_snapshot_redis_total",
      "The Redis snapshot store (--snapshot_store=redis://...): served (a snapshot from Redis), walked (this replica "
      "took the walk lock), waited (followed another replica's walk), walked_on (lost the walk it followed and walked "
      "on itself from the next page), published, unavailable (a Redis command failed; the call was served by this "
      "replica alone), skipped (Redis not asked for a while after a failure), stalled (the walk followed made no "
      "progress for --redis_stall_timeout while its lock was held, and was given up on).",
      {{"event", {"served", "walked", "waited", "walked_on", "published", "unavailable", "skipped", "stalled"}}}));
  return m;
}

absl::string_view UpstreamLabel(Upstream upstream) {
  return upstream == Upstream::kPartnerCenter ? "partner_center" : "token_endpoint";
}

// The registry and its families, declared together on first use.
struct Catalog {
  Catalog() : metrics(Declare(registry)) {}
  Registry registry;
  PcusageMetrics metrics;
};

Catalog& TheCatalog() {
  static auto* const kCatalog = new Catalog;
  return *kCatalog;
}

}  // namespace

Registry& ProcessRegistry() { return TheCatalog().registry; }

const PcusageMetrics& Pcusage() { return TheCatalog().metrics; }

std::string MethodLabel(absl::string_view full_method) {
  if (!full_method.empty() && full_method.front() == '/') full_method.remove_prefix(1);
  for (const std::string& method : KnownMethods()) {
    if (method == full_method) return method;
  }
  return kOtherLabelValue;
}

std::string HttpStatusLabel(int status) {
  for (int apart : kStatusesApart) {
    if (status == apart) return absl::StrCat(status);
  }
  if (status >= 100 && status <= 599) return absl::StrCat(status / 100, "xx");
  return kOtherLabelValue;
}

std::string TransportFailureLabel(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
      return "unreachable";
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kCancelled:
      return "cancelled";
    case absl::StatusCode::kResourceExhausted:
      return "too_large";
    case absl::StatusCode::kFailedPrecondition:
      return "tls";
    default:
      return "failed";
  }
}

void RpcStarted(absl::string_view full_method) { Pcusage().active_streams->Labels({MethodLabel(full_method)}).Add(1); }

void RpcFinished(absl::string_view full_method, int code) {
  const std::string method = MethodLabel(full_method);
  Pcusage().active_streams->Labels({method}).Add(-1);
  const std::string code_name =
      code >= 0 && code <= 16 ? absl::StatusCodeToString(static_cast<absl::StatusCode>(code)) : kOtherLabelValue;
  Pcusage().rpcs->Labels({method, code_name}).Increment();
}

void MessageStreamed(int64_t records) {
  const PcusageMetrics& metrics = Pcusage();
  metrics.messages->Get().Increment();
  metrics.records->Get().Add(static_cast<double>(records));
}

void UpstreamResponse(Upstream upstream, int http_status, absl::Duration took) {
  const PcusageMetrics& metrics = Pcusage();
  metrics.upstream_requests->Labels({UpstreamLabel(upstream), HttpStatusLabel(http_status)}).Increment();
  metrics.upstream_durations->Labels({UpstreamLabel(upstream)}).Observe(absl::ToDoubleSeconds(took));
}

void UpstreamFailure(Upstream upstream, absl::StatusCode transport_error, absl::Duration took) {
  const PcusageMetrics& metrics = Pcusage();
  metrics.upstream_requests->Labels({UpstreamLabel(upstream), TransportFailureLabel(transport_error)}).Increment();
  metrics.upstream_durations->Labels({UpstreamLabel(upstream)}).Observe(absl::ToDoubleSeconds(took));
}

void UpstreamRetry(absl::string_view reason, absl::Duration waited) {
  const PcusageMetrics& metrics = Pcusage();
  metrics.retries->Labels({reason}).Increment();
  metrics.retry_wait->Labels({reason}).Add(absl::ToDoubleSeconds(waited));
}

void TokenRefresh(bool succeeded) { Pcusage().token_refreshes->Labels({succeeded ? "ok" : "failed"}).Increment(); }

void SnapshotOpened(SnapshotOpen how) {
  static constexpr absl::string_view kOutcomes[] = {"hit", "join", "miss", "resume"};
  Pcusage().snapshot_opens->Labels({kOutcomes[static_cast<int>(how)]}).Increment();
}

void SnapshotRedis(SnapshotRedisEvent event) {
  static constexpr absl::string_view kEvents[] = {"served",    "walked",      "waited",  "walked_on",
                                                  "published", "unavailable", "skipped", "stalled"};
  Pcusage().snapshot_redis->Labels({kEvents[static_cast<int>(event)]}).Increment();
}

}  // namespace pcusage::metrics
