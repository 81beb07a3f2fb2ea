#include "server/watch_budgets_service.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/impl/codegen/method_handler.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/codegen/rpc_service_method.h"
#include "grpcpp/support/slice.h"
#include "server/call_cancellation.h"
#include "server/call_metadata.h"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/common/secrets.h"
#include "server/grpc_status.h"
#include "server/partner_center/record_facts.h"
#include "server/tokens/access_token_source.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;

constexpr char kWatchNeedsSharedSnapshots[] = "WATCH_NEEDS_SHARED_SNAPSHOTS";

absl::StatusOr<v1::WatchBudgetsRequest> ParseRequest(const grpc::ByteBuffer& bytes) {
  grpc::Slice slice;
  v1::WatchBudgetsRequest request;
  if (bytes.DumpToSingleSlice(&slice).ok() && request.ParseFromArray(slice.begin(), static_cast<int>(slice.size()))) {
    return request;
  }
  return WithErrorInfo(absl::InvalidArgumentError(
                           "the request is not a serialized partnercenter.usage.v1.WatchBudgetsRequest (its strings "
                           "must be UTF-8)"),
                       reason::kInvalidArgument);
}

// The watch's customer filters, checked as ListUsageRecords checks the same fields.
absl::StatusOr<std::optional<RecordFilter>> Filter(const v1::WatchBudgetsRequest& request) {
  v1::ListUsageRecordsRequest as_list;
  *as_list.mutable_customer_ids() = request.customer_ids();
  *as_list.mutable_currency_codes() = request.currency_codes();
  return RecordFilter::FromRequest(as_list);
}

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  google::protobuf::Timestamp timestamp;
  const absl::Duration since_epoch = time - absl::UnixEpoch();
  timestamp.set_seconds(absl::ToInt64Seconds(since_epoch));
  timestamp.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(since_epoch % absl::Seconds(1))));
  return timestamp;
}

google::protobuf::Duration ToDuration(absl::Duration duration) {
  google::protobuf::Duration proto;
  proto.set_seconds(absl::ToInt64Seconds(duration));
  proto.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration % absl::Seconds(1))));
  return proto;
}

absl::Status CallerGone() { return WithErrorInfo(absl::CancelledError("the caller went away"), reason::kCancelled); }

v1::WatchBudgetsResponse PollFailedMessage(const absl::Status& status, int failures, absl::Duration retry_in) {
  v1::WatchBudgetsResponse response;
  v1::PollFailed& failed = *response.mutable_poll_failed();
  failed.set_code(static_cast<int32_t>(status.code()));
  if (std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status)) failed.set_reason(info->reason());
  failed.set_message(std::string(status.message()));
  failed.set_failures_in_a_row(failures);
  *failed.mutable_retry_in() = ToDuration(retry_in);
  return response;
}

// What a good poll sends: its events, and after the level (the first poll) the marker that it is complete.
std::vector<v1::WatchBudgetsResponse> PollMessages(const BudgetPoll& poll, bool first) {
  const google::protobuf::Timestamp snapshot_time = ToTimestamp(poll.snapshot_time);
  std::vector<v1::WatchBudgetsResponse> messages(poll.events.size());
  for (std::size_t i = 0; i < poll.events.size(); ++i) {
    *messages[i].mutable_budget_event() = poll.events[i];
    *messages[i].mutable_snapshot_time() = snapshot_time;
  }
  if (first) {
    v1::WatchBudgetsResponse& complete = messages.emplace_back();
    complete.mutable_initial_state_complete()->set_matching_customers(static_cast<int64_t>(poll.state.size()));
    *complete.mutable_snapshot_time() = snapshot_time;
  }
  return messages;
}

}  // namespace

// What the call's summary line reports.
struct WatchBudgetsService::CallRecord {
  absl::Time started;
  std::string correlation_id;
  std::string peer;
  std::string caller = "(refused)";
  int polls = 0;
  int failed_polls = 0;
  int64_t events = 0;
  std::unique_ptr<CallWatchdog::Watch> watch;
};

WatchBudgetsService::WatchBudgetsService(PageOpener& pages, std::shared_ptr<callers::CallGate> gate,
                                         WatchBudgetsOptions options)
    : pages_(pages), gate_(std::move(gate)), options_(std::move(options)) {
  AddMethod(new grpc::internal::RpcServiceMethod(
      kWatchBudgetsMethod, grpc::internal::RpcMethod::SERVER_STREAMING,
      new grpc::internal::ServerStreamingHandler<WatchBudgetsService, grpc::ByteBuffer, v1::WatchBudgetsResponse>(
          [](WatchBudgetsService* service, grpc::ServerContext* context, const grpc::ByteBuffer* request,
             grpc::ServerWriter<v1::WatchBudgetsResponse>* writer) {
            return service->WatchBudgets(context, request, writer);
          },
          this)));
}

absl::StatusOr<BudgetPoll> WatchBudgetsService::Poll(PageOpener& pages, const PagesRequest& request,
                                                     const RecordFilter* filter,
                                                     const budget_watch::Thresholds& thresholds,
                                                     const budget_watch::PollState* before) {
  absl::StatusOr<CallPages> opened = pages.Open(request);
  if (!opened.ok()) return opened.status();
  budget_watch::PollBuilder builder(thresholds, before);
  for (;;) {
    absl::StatusOr<std::optional<partner_center::FetchedPage>> page = opened->pages->Next();
    if (!page.ok()) return page.status();
    if (!page->has_value()) {
      BudgetPoll poll;
      poll.state = builder.Finish();
      poll.events = builder.events();
      poll.snapshot_time = opened->origin.snapshot_time;
      return poll;
    }
    const partner_center::PageRecords& records = (*page)->page.records;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const absl::string_view entry = records.Entries(i, i + 1);
      if (filter != nullptr) {
        absl::StatusOr<partner_center::RecordFacts> facts = partner_center::ReadRecordFacts(entry);
        if (!facts.ok()) return facts.status();
        if (!filter->Passes(*facts)) continue;
      }
      v1::ListUsageRecordsResponse one;
      if (!one.ParseFromArray(entry.data(), static_cast<int>(entry.size())) || one.usage_records_size() != 1) {
        return absl::InternalError("a translated record could not be read back");
      }
      builder.Add(std::move(*one.mutable_usage_records(0)));
    }
  }
}

bool WatchBudgetsService::IsRetryable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

absl::Duration WatchBudgetsService::RetryDelay(absl::Duration interval, int failures) {
  absl::Duration delay = interval / 4;
  for (int i = 1; i < failures && delay < interval; ++i) delay *= 2;
  return std::min(delay, interval);
}

grpc::Status WatchBudgetsService::WatchBudgets(grpc::ServerContext* context, const grpc::ByteBuffer* request_bytes,
                                               grpc::ServerWriter<v1::WatchBudgetsResponse>* writer) {
  const SecretHold caller_token = HoldCallerToken(*context);
  std::optional<Drain::Call> running;
  if (options_.drain != nullptr) running.emplace(*options_.drain);
  CallRecord record;
  record.started = absl::Now();
  record.peer = context->peer();
  absl::Status status;
  absl::StatusOr<std::string> correlation_id = CorrelationId(*context);
  if (!correlation_id.ok()) {
    status = correlation_id.status();
  } else {
    record.correlation_id = *std::move(correlation_id);
    context->AddInitialMetadata(kCorrelationIdMetadata, record.correlation_id);
    writer->SendInitialMetadata();
    status = Watch(*context, *request_bytes, *writer, record);
  }
  std::vector<LogField> fields = {{"method", "WatchBudgets"},
                                  {"code", absl::StatusCodeToString(status.code())},
                                  {"correlation_id", record.correlation_id},
                                  {"caller", record.caller},
                                  {"peer", record.peer},
                                  {"polls", record.polls},
                                  {"failed_polls", record.failed_polls},
                                  {"events", record.events},
                                  {"duration_ms", absl::ToInt64Milliseconds(absl::Now() - record.started)}};
  if (!status.ok()) {
    if (std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status)) {
      fields.emplace_back("reason", info->reason());
    }
    fields.emplace_back("error", status.message());
  }
  LogEvent(status.ok() ? LogLevel::kInfo : LogLevel::kWarning, "WatchBudgets finished", fields);
  if (status.ok()) return grpc::Status::OK;
  if (record.correlation_id.empty()) return ToGrpcStatus(status);
  return ToGrpcStatus(status, {{"ms_correlation_id", record.correlation_id}});
}

absl::StatusOr<absl::Duration> WatchBudgetsService::PollInterval(const v1::WatchBudgetsRequest& request) const {
  if (!request.has_poll_interval()) return options_.default_poll_interval;
  const google::protobuf::Duration& given = request.poll_interval();
  constexpr int64_t kMaxDurationSeconds = 315576000000;  // google.protobuf.Duration's range: 10,000 years
  const bool valid = given.seconds() >= 0 && given.nanos() >= 0 && given.nanos() <= 999999999 &&
                     given.seconds() <= kMaxDurationSeconds;
  const absl::Duration interval = absl::Seconds(given.seconds()) + absl::Nanoseconds(given.nanos());
  if (!valid || interval < options_.min_poll_interval) {
    return InvalidFieldError("poll_interval", absl::StrCat("poll_interval must be a duration of at least ",
                                                           absl::FormatDuration(options_.min_poll_interval),
                                                           " (this server's ", "--min_watch_poll_interval; got ",
                                                           given.seconds(), "s and ", given.nanos(), "ns)"));
  }
  return interval;
}

absl::Status WatchBudgetsService::Stopped(grpc::ServerContext& context, absl::Time deadline) const {
  if (options_.drain != nullptr && options_.drain->draining()) {
    // Not Drain::EndedStatus(): a watch has no resume token, and ends as soon as the drain begins.
    return WithErrorInfo(absl::UnavailableError("the server is shutting down: watch again on another replica (or "
                                                "this one once it has restarted); a new stream starts with the level"),
                         reason::kServerDraining);
  }
  if (absl::Now() >= deadline) {
    if (absl::FromChrono(context.deadline()) <= deadline) {
      return WithErrorInfo(absl::DeadlineExceededError("the watch's deadline passed"), reason::kDeadlineExceeded);
    }
    return WithErrorInfo(
        absl::DeadlineExceededError(absl::StrCat("the watch ran for this server's --max_watch_duration (",
                                                 absl::FormatDuration(options_.max_watch_duration),
                                                 "): watch again; a new stream starts with the level")),
        reason::kDeadlineExceeded);
  }
  if (context.IsCancelled()) {
    return WithErrorInfo(absl::CancelledError("the caller cancelled the watch"), reason::kCancelled);
  }
  return absl::OkStatus();
}

absl::Status WatchBudgetsService::SleepUntil(grpc::ServerContext& context, absl::Time until,
                                             absl::Time deadline) const {
  for (;;) {
    if (absl::Status stopped = Stopped(context, deadline); !stopped.ok()) return stopped;
    const absl::Time now = absl::Now();
    if (now >= until) return absl::OkStatus();
    absl::SleepFor(std::min({until - now, deadline - now, kWatchWakeInterval}));
  }
}

absl::StatusOr<WatchBudgetsService::WatchPlan> WatchBudgetsService::Plan(const grpc::ByteBuffer& request_bytes) const {
  absl::StatusOr<v1::WatchBudgetsRequest> request = ParseRequest(request_bytes);
  if (!request.ok()) return request.status();
  absl::StatusOr<budget_watch::Thresholds> thresholds = budget_watch::Thresholds::FromRequest(request->thresholds());
  if (!thresholds.ok()) return thresholds.status();
  absl::StatusOr<std::optional<RecordFilter>> filter = Filter(*request);
  if (!filter.ok()) return filter.status();
  absl::StatusOr<absl::Duration> interval = PollInterval(*request);
  if (!interval.ok()) return interval.status();
  if (!pages_.sharing()) {
    return WithErrorInfo(
        absl::FailedPreconditionError("WatchBudgets reads the shared snapshots, which this server has turned off "
                                      "(--snapshot_max_staleness=0): a watch would walk Partner Center on its own"),
        kWatchNeedsSharedSnapshots);
  }
  return WatchPlan{*std::move(thresholds), *std::move(filter), *interval};
}

PagesRequest WatchBudgetsService::PollRequest(grpc::ServerContext& context, const std::string& correlation_id,
                                              absl::Time deadline, absl::Duration interval) const {
  PagesRequest request;
  if (std::optional<absl::string_view> authorization = CallMetadata(context, "authorization")) {
    request.caller_authorization = std::string(*authorization);
  }
  request.correlation_id = correlation_id;
  request.deadline = deadline;
  request.is_cancelled = ThrottledCancellation([&context, drain = options_.drain.get()] {
    return context.IsCancelled() || (drain != nullptr && drain->draining());
  });
  request.start.page = options_.first_page;
  request.max_staleness = interval;
  return request;
}

absl::Time WatchBudgetsService::Deadline(grpc::ServerContext& context, CallRecord& record) {
  const absl::Time caller_deadline = absl::FromChrono(context.deadline());
  const absl::Time deadline = std::min(caller_deadline, record.started + options_.max_watch_duration);
  // gRPC ends the call at the caller's own deadline. The watch ends itself at --max_watch_duration, saying why; the
  // watchdog, a second later, cancels only a watch stuck in a Write to a caller who stopped reading.
  constexpr absl::Duration kWatchdogGrace = absl::Seconds(1);
  if (caller_deadline > deadline) record.watch = watchdog_.Start(&context, deadline + kWatchdogGrace);
  return deadline;
}

absl::Status WatchBudgetsService::Watch(grpc::ServerContext& context, const grpc::ByteBuffer& request_bytes,
                                        grpc::ServerWriter<v1::WatchBudgetsResponse>& writer, CallRecord& record) {
  if (options_.drain != nullptr && options_.drain->draining()) return Drain::RefusedStatus();
  absl::StatusOr<callers::AdmittedCall> admitted = gate_->Admit(context);
  if (!admitted.ok()) return admitted.status();
  record.caller = admitted->caller_name();
  absl::StatusOr<WatchPlan> plan = Plan(request_bytes);
  if (!plan.ok()) return plan.status();

  const absl::Time deadline = Deadline(context, record);
  const PagesRequest pages_request = PollRequest(context, record.correlation_id, deadline, plan->interval);

  const auto write = [&writer, &record](const v1::WatchBudgetsResponse& response) {
    ++record.events;
    return writer.Write(response);
  };
  const RecordFilter* filter = plan->filter.has_value() ? &*plan->filter : nullptr;
  std::unique_ptr<budget_watch::PollState> last;  // the last good poll's
  int failures = 0;
  absl::Time next_poll = absl::Now();
  for (;;) {
    if (absl::Status stopped = SleepUntil(context, next_poll, deadline); !stopped.ok()) return stopped;
    const absl::Time poll_started = absl::Now();
    ++record.polls;
    absl::StatusOr<BudgetPoll> poll = Poll(pages_, pages_request, filter, plan->thresholds, last.get());
    if (!poll.ok()) {
      if (absl::Status stopped = Stopped(context, deadline); !stopped.ok()) return stopped;
      if (!IsRetryable(poll.status())) return poll.status();
      ++failures;
      ++record.failed_polls;
      const absl::Duration retry_in = RetryDelay(plan->interval, failures);
      if (!write(PollFailedMessage(poll.status(), failures, retry_in))) return CallerGone();
      next_poll = absl::Now() + retry_in;
      continue;
    }
    failures = 0;
    for (const v1::WatchBudgetsResponse& message : PollMessages(*poll, last == nullptr)) {
      if (!write(message)) return CallerGone();
    }
    last = std::make_unique<budget_watch::PollState>(std::move(poll->state));
    next_poll = poll_started + plan->interval;
  }
}

}  // namespace pcusage
