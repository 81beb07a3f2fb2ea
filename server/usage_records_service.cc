#include "server/usage_records_service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/impl/codegen/method_handler.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/codegen/rpc_service_method.h"
#include "grpcpp/support/slice.h"
#include "server/batch_writer.h"
#include "server/call_cancellation.h"
#include "server/call_metadata.h"
#include "server/common/error_details.h"
#include "server/common/handoff_annotations.h"
#include "server/common/log.h"
#include "server/common/secrets.h"
#include "server/common/trace_context.h"
#include "server/grpc_status.h"
#include "server/record_filter.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;

// The request's page_size, as the most records one message carries.
absl::StatusOr<int> BatchSize(int page_size) {
  if (page_size < 0) {
    const std::string problem = absl::StrCat("page_size must not be negative (got ", page_size, ")");
    return InvalidFieldError("page_size", problem);
  }
  if (page_size == 0) return kDefaultBatchSize;
  return std::min(page_size, kMaxBatchSize);
}

// The request's max_staleness: unset, or a valid, non-negative google.protobuf.Duration.
absl::StatusOr<std::optional<absl::Duration>> MaxStaleness(const v1::ListUsageRecordsRequest& request) {
  if (!request.has_max_staleness()) return std::nullopt;
  const google::protobuf::Duration& given = request.max_staleness();
  constexpr int64_t kMaxDurationSeconds = 315576000000;  // google.protobuf.Duration's range: 10,000 years
  if (given.seconds() < 0 || given.nanos() < 0 || given.nanos() > 999999999 || given.seconds() > kMaxDurationSeconds) {
    const std::string problem =
        absl::StrCat("max_staleness must be a non-negative duration (got ", given.seconds(), "s and ", given.nanos(),
                     "ns); zero asks for a fresh walk of Partner Center");
    return InvalidFieldError("max_staleness", problem);
  }
  return absl::Seconds(given.seconds()) + absl::Nanoseconds(given.nanos());
}

// The request the caller sent. A resume_token that is not UTF-8 (protobuf refuses such a proto3 string) is an
// invalid resume token; bytes that are no ListUsageRecordsRequest at all are an invalid argument.
absl::StatusOr<v1::ListUsageRecordsRequest> ParseRequest(const grpc::ByteBuffer& bytes) {
  const auto not_a_request = [] {
    return WithErrorInfo(
        absl::InvalidArgumentError("the request is not a serialized partnercenter.usage.v1.ListUsageRecordsRequest"),
        reason::kInvalidArgument);
  };
  grpc::Slice slice;
  if (!bytes.DumpToSingleSlice(&slice).ok()) return not_a_request();
  const absl::string_view serialized(reinterpret_cast<const char*>(slice.begin()), slice.size());
  v1::ListUsageRecordsRequest request;
  if (request.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) return request;
  // When the request parses without its resume_token, the token is what protobuf refused.
  google::protobuf::UnknownFieldSet fields;
  std::string without_token;
  if (fields.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
    fields.DeleteByNumber(v1::ListUsageRecordsRequest::kResumeTokenFieldNumber);
    if (fields.SerializeToString(&without_token) && request.ParseFromString(without_token)) {
      const std::string problem =
          "resume_token is not a token this server issued (it is not UTF-8 text, as a proto3 string must be)";
      return WithFieldViolation(WithErrorInfo(absl::InvalidArgumentError(problem), reason::kResumeTokenInvalid),
                                "resume_token", problem);
    }
  }
  return not_a_request();
}

// The message as gRPC sends it: the records' bytes without a copy (each slice holds its page's bytes until gRPC is
// done with them), then the other fields. gRPC releases a slice on whichever thread sent it, through an atomic
// refcount ThreadSanitizer cannot see, hence the handoff annotations.
grpc::ByteBuffer ToByteBuffer(const BatchWriter::Message& message) {
  std::vector<grpc::Slice> slices;
  slices.reserve(message.records.size() + 1);
  for (const BatchWriter::RecordBytes& records : message.records) {
    auto* held = new std::shared_ptr<const void>(records.keep_alive);
    HandedOff(held);
    slices.emplace_back(
        const_cast<char*>(records.bytes.data()), records.bytes.size(),
        [](void* held) {
          TakenOver(held);
          delete static_cast<std::shared_ptr<const void>*>(held);
        },
        held);
  }
  slices.emplace_back(message.fields.data(), message.fields.size());
  return grpc::ByteBuffer(slices.data(), slices.size());
}

// Pulls every page and writes it; the first error of either side ends the stream, after the records already at
// hand, and so does the end of the server's drain (`drain` may be null). A message is filled from pages at hand
// only: the writer flushes whenever the next page is not.
absl::Status WritePages(partner_center::PageSource& pages, BatchWriter& batches, const Drain* drain) {
  for (;;) {
    if (drain != nullptr && drain->Expired()) {
      absl::Status flushed = batches.Flush();
      return flushed.ok() ? Drain::EndedStatus() : flushed;
    }
    absl::StatusOr<std::optional<partner_center::FetchedPage>> page = pages.Next();
    if (!page.ok()) {
      if (batches.pages() == 0) return page.status();
      absl::Status flushed = batches.Flush();
      return flushed.ok() ? page.status() : flushed;
    }
    if (!page->has_value()) return batches.Finish();
    if (absl::Status written = batches.WritePage(**page); !written.ok()) return written;
    if (!pages.NextIsReady()) {
      if (absl::Status flushed = batches.Flush(); !flushed.ok()) return flushed;
    }
  }
}

}  // namespace

// What the call's summary line reports.
struct UsageRecordsService::CallRecord {
  absl::Time started;
  absl::Time deadline;
  std::string correlation_id;
  std::string peer;
  std::optional<std::string> trace_id;  // from the caller's W3C traceparent
  bool resumed = false;
  bool filtered = false;  // the request asked for some records only
  std::string caller = "(refused)";
  StreamOrigin origin;
  int64_t records = 0;
  int pages = 0;
  std::unique_ptr<CallWatchdog::Watch> watch;  // only for calls that would outlive --max_call_duration
};

UsageRecordsService::UsageRecordsService(std::shared_ptr<const partner_center::UsageClient> client,
                                         std::shared_ptr<tokens::AccessTokenSource> token_source,
                                         std::shared_ptr<const ResumeTokenCodec> resume_tokens,
                                         std::shared_ptr<callers::CallGate> gate, UsageRecordsServiceOptions options)
    : client_(client),
      resume_tokens_(std::move(resume_tokens)),
      gate_(std::move(gate)),
      max_call_duration_(options.max_call_duration),
      pages_(std::move(client), std::move(token_source),
             [&options] {
               PageOpenerOptions pages = options.pages;
               pages.max_walk_duration = options.max_call_duration;
               return pages;
             }()),
      drain_(options.drain) {
  AddMethod(new grpc::internal::RpcServiceMethod(
      kListUsageRecordsMethod, grpc::internal::RpcMethod::SERVER_STREAMING,
      new grpc::internal::ServerStreamingHandler<UsageRecordsService, grpc::ByteBuffer, grpc::ByteBuffer>(
          [](UsageRecordsService* service, grpc::ServerContext* context, const grpc::ByteBuffer* request,
             grpc::ServerWriter<grpc::ByteBuffer>* writer) {
            return service->ListUsageRecords(context, request, writer);
          },
          this)));
}

grpc::Status UsageRecordsService::ListUsageRecords(grpc::ServerContext* context, const grpc::ByteBuffer* request_bytes,
                                                   grpc::ServerWriter<grpc::ByteBuffer>* writer) {
  const SecretHold caller_token = HoldCallerToken(*context);
  std::optional<Drain::Call> running;
  if (drain_ != nullptr) running.emplace(*drain_);
  const absl::StatusOr<v1::ListUsageRecordsRequest> request = ParseRequest(*request_bytes);
  CallRecord record;
  record.started = absl::Now();
  const absl::Time caller_deadline = absl::FromChrono(context->deadline());
  record.deadline = std::min(caller_deadline, record.started + max_call_duration_);
  // gRPC ends the call at the caller's own deadline (the caller then sees DEADLINE_EXCEEDED); the watchdog only
  // enforces --max_call_duration, for calls that would outlive it.
  if (caller_deadline > record.deadline) record.watch = watchdog_.Start(context, record.deadline);
  record.peer = context->peer();
  if (std::optional<absl::string_view> traceparent = CallMetadata(*context, kTraceparentMetadata)) {
    record.trace_id = TraceIdFromTraceparent(*traceparent);
  }
  record.resumed = !request.ok() || !request->resume_token().empty();

  absl::StatusOr<std::string> correlation_id = CorrelationId(*context);
  if (!correlation_id.ok()) {
    return Finish(correlation_id.status(), record);
  }
  record.correlation_id = *correlation_id;
  context->AddInitialMetadata(kCorrelationIdMetadata, record.correlation_id);
  // At once, so the caller has the correlation id even if the call ends at its own deadline before any record.
  writer->SendInitialMetadata();
  absl::Status status = Stream(*context, request, *writer, record);
  // The drain's end cancels what the call waits for; its caller learns why, and that it can resume elsewhere.
  if (status.code() == absl::StatusCode::kCancelled && drain_ != nullptr && drain_->Expired()) {
    status = Drain::EndedStatus();
  }
  return Finish(std::move(status), record);
}

absl::Status UsageRecordsService::Stream(grpc::ServerContext& context,
                                         const absl::StatusOr<v1::ListUsageRecordsRequest>& parsed,
                                         grpc::ServerWriter<grpc::ByteBuffer>& writer, CallRecord& record) {
  if (drain_ != nullptr && drain_->draining()) return Drain::RefusedStatus();
  absl::StatusOr<callers::AdmittedCall> admitted = gate_->Admit(context);
  if (!admitted.ok()) return admitted.status();
  record.caller = admitted->caller_name();
  if (!parsed.ok()) return parsed.status();
  const v1::ListUsageRecordsRequest& request = *parsed;
  // Everything the request itself decides comes before any token is fetched.
  absl::StatusOr<int> batch_size = BatchSize(request.page_size());
  if (!batch_size.ok()) return batch_size.status();
  absl::StatusOr<std::optional<RecordFilter>> filter = RecordFilter::FromRequest(request);
  if (!filter.ok()) return filter.status();
  absl::StatusOr<PagesRequest> pages_request = ValidatedRequest(context, request, admitted->resume_identity(), record);
  if (!pages_request.ok()) return pages_request.status();
  const StreamPosition start = pages_request->start;
  absl::StatusOr<CallPages> pages = pages_.Open(*pages_request);
  if (!pages.ok()) return pages.status();
  record.origin = pages->origin;
  BatchWriter batches(
      [&writer](const BatchWriter::Message& message, bool last) {
        // The last message goes out with the call's status, in one batch of operations.
        return last ? writer.Write(ToByteBuffer(message), grpc::WriteOptions().set_last_message())
                    : writer.Write(ToByteBuffer(message));
      },
      *batch_size, *resume_tokens_, admitted->resume_identity(), start, pages->origin);
  if (filter->has_value()) {
    record.filtered = true;
    batches.SetFilter(**std::move(filter));
  }
  absl::Status status = WritePages(*pages->pages, batches, drain_.get());
  record.records = batches.records();
  record.pages = batches.pages();
  return status;
}

absl::StatusOr<PagesRequest> UsageRecordsService::ValidatedRequest(const grpc::ServerContext& context,
                                                                   const v1::ListUsageRecordsRequest& request,
                                                                   absl::string_view resume_identity,
                                                                   const CallRecord& record) const {
  absl::StatusOr<std::optional<absl::Duration>> max_staleness = MaxStaleness(request);
  if (!max_staleness.ok()) return max_staleness.status();
  absl::StatusOr<StreamPosition> start = StartPosition(request, resume_identity);
  if (!start.ok()) return start.status();
  PagesRequest pages;
  if (std::optional<absl::string_view> authorization = CallMetadata(context, "authorization")) {
    pages.caller_authorization = std::string(*authorization);
  }
  pages.correlation_id = record.correlation_id;
  pages.deadline = record.deadline;
  pages.is_cancelled = ThrottledCancellation(
      [&context, drain = drain_.get()] { return context.IsCancelled() || (drain != nullptr && drain->Expired()); });
  pages.start = *std::move(start);
  pages.max_staleness = *max_staleness;
  return pages;
}

absl::StatusOr<StreamPosition> UsageRecordsService::StartPosition(const v1::ListUsageRecordsRequest& request,
                                                                  absl::string_view resume_identity) const {
  StreamPosition start;
  if (request.resume_token().empty()) {
    start.page = client_->FirstPage();
    return start;
  }
  absl::StatusOr<StreamPosition> resumed = resume_tokens_->Decode(request.resume_token(), absl::Now());
  if (!resumed.ok()) {
    const bool expired = resumed.status().code() == absl::StatusCode::kFailedPrecondition;
    absl::Status refused =
        WithErrorInfo(resumed.status(), expired ? reason::kResumeTokenExpired : reason::kResumeTokenInvalid);
    return expired ? refused : WithFieldViolation(refused, "resume_token", resumed.status().message());
  }
  absl::string_view foreign;
  if (!client_->IsOnApiHost(resumed->page.url)) {
    foreign = "resume_token was issued for another Partner Center URL";
  } else if (resumed->caller != resume_identity) {
    foreign = "resume_token was issued to another caller";
  }
  if (!foreign.empty()) {
    return WithFieldViolation(WithErrorInfo(absl::InvalidArgumentError(foreign), reason::kResumeTokenInvalid),
                              "resume_token", foreign);
  }
  return resumed;
}

grpc::Status UsageRecordsService::Finish(absl::Status status, const CallRecord& record) {
  const bool watchdog_fired = record.watch != nullptr && record.watch->fired();
  if (status.code() == absl::StatusCode::kCancelled && (watchdog_fired || absl::Now() >= record.deadline)) {
    // gRPC cancels a call whose deadline passed, and the watchdog one that ran past --max_call_duration.
    status =
        WithErrorInfo(absl::DeadlineExceededError(absl::StrCat(
                          watchdog_fired ? "the call ran past --max_call_duration: " : "the call's deadline passed: ",
                          status.message())),
                      reason::kDeadlineExceeded);
  }
  std::vector<LogField> fields = {
      {"method", "ListUsageRecords"},
      {"code", absl::StatusCodeToString(status.code())},
      {"correlation_id", record.correlation_id},
      {"caller", record.caller},
      {"peer", record.peer},
      {"records", record.records},
      {"pages", record.pages},
      {"duration_ms", absl::ToInt64Milliseconds(absl::Now() - record.started)},
      {"resumed", record.resumed},
      {"filtered", record.filtered},
  };
  if (record.trace_id.has_value()) fields.emplace_back("trace_id", *record.trace_id);
  if (!record.origin.snapshot_id.empty()) {
    fields.emplace_back("snapshot", record.origin.snapshot_id);
    fields.emplace_back("shared", record.origin.shared);
  }
  if (!status.ok()) {
    if (std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status)) {
      fields.emplace_back("reason", info->reason());
    }
    fields.emplace_back("error", status.message());
  }
  LogEvent(status.ok() ? LogLevel::kInfo : LogLevel::kWarning, "ListUsageRecords finished", fields);
  if (status.ok()) return grpc::Status::OK;
  if (record.correlation_id.empty()) return ToGrpcStatus(status);
  return ToGrpcStatus(status, {{"ms_correlation_id", record.correlation_id}});
}

}  // namespace pcusage
