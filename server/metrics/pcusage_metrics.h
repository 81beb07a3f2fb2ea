// Every metric pcusage_server exports, in one process-wide registry, and the one call per event that updates them
// (docs/operations.md lists them). Each label takes its values from a set fixed here (gRPC methods and codes, HTTP
// statuses and classes, named outcomes): nothing a caller or an upstream sends becomes a label value. Updates are
// atomic adds, made once per call, message, upstream request, retry or token grant: none per record.
#ifndef PCUSAGE_SERVER_METRICS_PCUSAGE_METRICS_H_
#define PCUSAGE_SERVER_METRICS_PCUSAGE_METRICS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/metrics/exposition.h"

namespace pcusage::metrics {

enum class Upstream { kPartnerCenter, kTokenEndpoint };

// How a call found its shared snapshot (server/snapshots/): a complete one, a walk in flight, none (a walk starts),
// or the one its resume token names.
enum class SnapshotOpen { kHit, kJoin, kMiss, kResume };

// What the Redis snapshot store (snapshots/redis_snapshot_store.h) did for a call's snapshot, or that Redis failed:
// served (a snapshot read from Redis), walked (this replica took the walk lock), waited (for another replica's
// walk), published (a snapshot written to Redis), unavailable (a Redis command failed: the call was served by
// this replica alone), skipped (Redis not asked, for a while after a failure).
enum class SnapshotRedisEvent { kServed, kWalked, kWaited, kWalkedOn, kPublished, kUnavailable, kSkipped, kStalled };

// The families, for reading in tests; instrumentation uses the functions below.
struct PcusageMetrics {
  Family<Counter>* rpcs;                  // pcusage_rpcs_total{method, code}
  Family<Gauge>* active_streams;          // pcusage_active_streams{method}
  Family<Counter>* records;               // pcusage_records_streamed_total
  Family<Counter>* messages;              // pcusage_messages_streamed_total
  Family<Counter>* upstream_requests;     // pcusage_upstream_requests_total{upstream, status}
  Family<Histogram>* upstream_durations;  // pcusage_upstream_request_duration_seconds{upstream}
  Family<Counter>* retries;               // pcusage_upstream_retries_total{reason}
  Family<Counter>* retry_wait;            // pcusage_upstream_retry_wait_seconds_total{reason}
  Family<Counter>* token_refreshes;       // pcusage_token_refreshes_total{result}
  Family<Counter>* snapshot_opens;        // pcusage_snapshot_opens_total{outcome}
  Family<Counter>* snapshot_redis;        // pcusage_snapshot_redis_total{event}
  Family<Gauge>* build_info;              // pcusage_build_info{version, commit, build_mode}
};

// The registry /metrics renders, with every family of PcusageMetrics in it.
Registry& ProcessRegistry();
const PcusageMetrics& Pcusage();

// The label value of a gRPC method ("/package.Service/Method"): its name without the leading slash when it is one
// of the methods this server serves, else "other".
std::string MethodLabel(absl::string_view full_method);
// The label value of an upstream HTTP status: the status itself for the ones pcusage treats apart (200, 400, 401,
// 403, 404, 408, 409, 429, 500, 502, 503, 504), else its class ("2xx", ..., "5xx"), else "other".
std::string HttpStatusLabel(int status);
// The label value of a request that got no HTTP response, from the transport's status (http_transport.h):
// "unreachable", "timeout", "cancelled", "too_large", "tls" or "failed".
std::string TransportFailureLabel(absl::StatusCode code);

// A call of `full_method` began (active_streams up) or ended with gRPC status `code` (counted; active_streams down).
void RpcStarted(absl::string_view full_method);
void RpcFinished(absl::string_view full_method, int code);
// A ListUsageRecords message holding `records` records was handed to gRPC.
void MessageStreamed(int64_t records);
// One upstream request: its HTTP status (or, with no response, the transport's error) and how long it took.
void UpstreamResponse(Upstream upstream, int http_status, absl::Duration took);
void UpstreamFailure(Upstream upstream, absl::StatusCode transport_error, absl::Duration took);
// A retry is due after `waited` (for "throttled", the Retry-After waited). `reason`: "throttled", "server_error",
// "connection" or "timeout".
void UpstreamRetry(absl::string_view reason, absl::Duration waited);
// The refresh-token grant (tokens/refresh_token_source.h) got a token, or failed after its retries.
void TokenRefresh(bool succeeded);
void SnapshotOpened(SnapshotOpen how);
void SnapshotRedis(SnapshotRedisEvent event);

}  // namespace pcusage::metrics

#endif  // PCUSAGE_SERVER_METRICS_PCUSAGE_METRICS_H_
