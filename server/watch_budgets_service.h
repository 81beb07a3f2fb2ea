// The WatchBudgets RPC, wiring only: admits the call at the edge (CallGate, so a watch takes a stream slot like any
// list), validates the request, then polls the shared snapshots (PageOpener, the same ones ListUsageRecords reads:
// a poll reads a snapshot no older than the poll interval, so watchers and list callers of one identity cost Partner
// Center one walk per interval, never one each) and writes what budget_levels.h computes: the level, a marker, then
// the edges. A failed poll is reported in the stream and retried with backoff; the stream ends only on cancel, its
// deadline (or --max_watch_duration), the server's drain, or a permanent error.
//
// Threads: gRPC's synchronous API gives each watch a handler thread for its whole life, mostly asleep between polls
// (it looks at its call every kWatchWakeInterval). Watches therefore count against --max_concurrent_streams,
// --max_streams_per_caller and --max_threads like list streams, and end at --max_watch_duration at the latest.
#ifndef PCUSAGE_SERVER_WATCH_BUDGETS_SERVICE_H_
#define PCUSAGE_SERVER_WATCH_BUDGETS_SERVICE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/sync_stream.h"
#include "partnercenter/usage/v1/usage_records.pb.h"
#include "server/budget_levels.h"
#include "server/call_watchdog.h"
#include "server/callers/call_gate.h"
#include "server/drain.h"
#include "server/page_opener.h"
#include "server/partner_center/page_position.h"
#include "server/record_filter.h"

namespace pcusage {

// The method's full name.
inline constexpr char kWatchBudgetsMethod[] = "/partnercenter.usage.v1.UsageRecordsService/WatchBudgets";

// How often a watch between polls looks whether its call was cancelled, passed its deadline, or the drain began.
inline constexpr absl::Duration kWatchWakeInterval = absl::Milliseconds(100);

struct WatchBudgetsOptions {
  // The poll interval of a request that sets none, and the least one may set (shorter is INVALID_ARGUMENT), so that
  // watchers cannot make the server walk Partner Center more often than the partner's guidance allows.
  absl::Duration default_poll_interval = absl::Minutes(15);
  absl::Duration min_poll_interval = absl::Minutes(5);
  // A watch without an earlier deadline ends with DEADLINE_EXCEEDED this long after it started (its caller
  // reconnects and gets the level again), so a forgotten watch cannot hold a thread for ever.
  absl::Duration max_watch_duration = absl::Hours(24);
  // Where every poll begins (UsageClient::FirstPage()).
  partner_center::PagePosition first_page;
  // The server's drain: a watch ends (UNAVAILABLE, SERVER_DRAINING) as soon as it begins. May be null.
  std::shared_ptr<Drain> drain;
};

// What one successful poll read: its state and the events it makes against the poll before.
struct BudgetPoll {
  budget_watch::PollState state;
  std::vector<partnercenter::usage::v1::BudgetEvent> events;
  absl::Time snapshot_time;  // when the walk it read started
};

class WatchBudgetsService final : public grpc::Service {
 public:
  // `pages` and `gate` are ListUsageRecords' (UsageRecordsService::page_opener()), so that both share snapshots and
  // stream slots; both must outlive this.
  WatchBudgetsService(PageOpener& pages, std::shared_ptr<callers::CallGate> gate, WatchBudgetsOptions options);

  // `request` is a serialized WatchBudgetsRequest, parsed here so that bytes protobuf refuses are INVALID_ARGUMENT.
  grpc::Status WatchBudgets(grpc::ServerContext* context, const grpc::ByteBuffer* request,
                            grpc::ServerWriter<partnercenter::usage::v1::WatchBudgetsResponse>* writer);

  // One poll: every record of a snapshot no older than `request.max_staleness` (found, joined or walked) that passes
  // `filter` (null: all), compared with `before` (null: the first poll) record by record as the pages arrive.
  // Errors are the pages' (Partner Center's, the token source's).
  static absl::StatusOr<BudgetPoll> Poll(PageOpener& pages, const PagesRequest& request, const RecordFilter* filter,
                                         const budget_watch::Thresholds& thresholds,
                                         const budget_watch::PollState* before);

  // Whether a failed poll is worth trying again: transient failures (UNAVAILABLE, DEADLINE_EXCEEDED,
  // RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN, CANCELLED by another than the watch itself) are; the others need a
  // change first (a token, a permission) and end the stream.
  static bool IsRetryable(const absl::Status& status);

  // How long after the `failures`-th failed poll in a row the next is tried: a quarter of `interval`, doubling with
  // each further failure, at most `interval`.
  static absl::Duration RetryDelay(absl::Duration interval, int failures);

 private:
  struct CallRecord;
  // A request, checked.
  struct WatchPlan {
    budget_watch::Thresholds thresholds;
    std::optional<RecordFilter> filter;
    absl::Duration interval;
  };
  absl::StatusOr<WatchPlan> Plan(const grpc::ByteBuffer& request_bytes) const;
  // When the watch ends at the latest: the caller's deadline or --max_watch_duration after it started, the latter
  // enforced by the watchdog.
  absl::Time Deadline(grpc::ServerContext& context, CallRecord& record);
  // What every poll of the watch asks of the page opener: from the first page, a snapshot no older than `interval`.
  PagesRequest PollRequest(grpc::ServerContext& context, const std::string& correlation_id, absl::Time deadline,
                           absl::Duration interval) const;
  absl::Status Watch(grpc::ServerContext& context, const grpc::ByteBuffer& request_bytes,
                     grpc::ServerWriter<partnercenter::usage::v1::WatchBudgetsResponse>& writer, CallRecord& record);
  absl::StatusOr<absl::Duration> PollInterval(const partnercenter::usage::v1::WatchBudgetsRequest& request) const;
  // OK while the watch may go on; otherwise the status it ends with (cancelled, deadline, drain).
  absl::Status Stopped(grpc::ServerContext& context, absl::Time deadline) const;
  // Sleeps until `until`, waking every kWatchWakeInterval to look at Stopped().
  absl::Status SleepUntil(grpc::ServerContext& context, absl::Time until, absl::Time deadline) const;

  PageOpener& pages_;
  std::shared_ptr<callers::CallGate> gate_;
  const WatchBudgetsOptions options_;
  CallWatchdog watchdog_;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_WATCH_BUDGETS_SERVICE_H_
