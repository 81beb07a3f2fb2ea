#include "client_stubs/cpp/usage_records_client.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/client_context.h"

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;

std::string InitialMetadata(const grpc::ClientContext& context, const char* key) {
  const auto& metadata = context.GetServerInitialMetadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// ListOptions or WatchOptions: the deadline and the request metadata.
template <typename Options>
void SetUpContext(const Options& options, grpc::ClientContext& context) {
  if (options.timeout != absl::InfiniteDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  }
  if (!options.access_token.empty()) {
    context.AddMetadata(kAuthorizationMetadata, absl::StrCat("Bearer ", options.access_token));
  }
  if (!options.correlation_id.empty()) context.AddMetadata(kCorrelationIdMetadata, options.correlation_id);
  if (!options.api_key.empty()) context.AddMetadata(kApiKeyMetadata, options.api_key);
}

void ReadFirstMessageFields(const v1::ListUsageRecordsResponse& response, ListSummary& summary) {
  if (response.has_partner_center_total_count()) {
    summary.partner_center_total_count = response.partner_center_total_count();
  }
  if (response.has_snapshot_time()) {
    summary.snapshot_time =
        absl::FromUnixSeconds(response.snapshot_time().seconds()) + absl::Nanoseconds(response.snapshot_time().nanos());
  }
  summary.from_shared_snapshot = response.from_shared_snapshot();
}

void SetDuration(absl::Duration duration, google::protobuf::Duration* proto) {
  const int64_t seconds = absl::ToInt64Seconds(duration);
  proto->set_seconds(seconds);
  proto->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration - absl::Seconds(seconds))));
}

// Reads every message into `summary` and hands each record to `on_record`; false when on_record refused one.
bool ReadAll(grpc::ClientReader<v1::ListUsageRecordsResponse>& reader,
             const UsageRecordsClient::RecordCallback& on_record,
             const UsageRecordsClient::MessageEndCallback& on_message_end, ListSummary& summary) {
  v1::ListUsageRecordsResponse response;
  while (reader.Read(&response)) {
    if (summary.messages == 0) ReadFirstMessageFields(response, summary);
    ++summary.messages;
    for (const v1::CustomerMonthlyUsageRecord& record : response.usage_records()) {
      ++summary.records;
      if (on_record && !on_record(record)) return false;
    }
    summary.resume_token = response.resume_token();
    if (on_message_end) on_message_end();
  }
  return true;
}

// Ends a stream after its reads: cancels it first when the caller stopped reading early (`stopped`). The status is
// then CANCELLED even if the server had finished before the cancellation reached it.
template <typename Response>
grpc::Status FinishCall(grpc::ClientContext& context, grpc::ClientReader<Response>& reader, bool stopped,
                        absl::string_view stopped_message) {
  if (!stopped) return reader.Finish();
  context.TryCancel();
  // Finish may only follow a Read that failed; after TryCancel that comes at once.
  Response ignored;
  while (reader.Read(&ignored)) {
  }
  reader.Finish();
  return grpc::Status(grpc::StatusCode::CANCELLED, std::string(stopped_message));
}

// The ErrorInfo and RetryInfo of a ListSummary's or WatchSummary's status (its grpc-status-details-bin), if any.
template <typename Summary>
void ReadErrorDetails(Summary& summary) {
  google::rpc::Status details;
  if (summary.status.error_details().empty() || !details.ParseFromString(summary.status.error_details())) return;
  for (const google::protobuf::Any& detail : details.details()) {
    if (google::rpc::ErrorInfo info; detail.Is<google::rpc::ErrorInfo>() && detail.UnpackTo(&info)) {
      summary.error_info = std::move(info);
    } else if (google::rpc::RetryInfo retry; detail.Is<google::rpc::RetryInfo>() && detail.UnpackTo(&retry)) {
      summary.retry_info = std::move(retry);
    }
  }
}

}  // namespace

void CallCancellation::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

bool CallCancellation::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

void CallCancellation::Attach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  context_ = context;
  // A context cancelled before its call starts cancels the call as it starts.
  if (cancelled_) context_->TryCancel();
}

void CallCancellation::Detach() {
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
}

UsageRecordsClient::UsageRecordsClient(std::shared_ptr<grpc::Channel> channel)
    : stub_(v1::UsageRecordsService::NewStub(std::move(channel))) {}

ListSummary UsageRecordsClient::ListUsageRecords(const ListOptions& options, const RecordCallback& on_record,
                                                 const MessageEndCallback& on_message_end) const {
  grpc::ClientContext context;
  SetUpContext(options, context);
  v1::ListUsageRecordsRequest request;
  request.set_page_size(options.page_size);
  request.set_resume_token(options.resume_token);
  if (options.max_staleness.has_value()) SetDuration(*options.max_staleness, request.mutable_max_staleness());
  request.mutable_customer_ids()->Add(options.customer_ids.begin(), options.customer_ids.end());
  request.mutable_currency_codes()->Add(options.currency_codes.begin(), options.currency_codes.end());
  if (options.min_percent_used.has_value()) request.mutable_min_percent_used()->set_value(*options.min_percent_used);
  request.set_only_with_budget(options.only_with_budget);
  std::unique_ptr<grpc::ClientReader<v1::ListUsageRecordsResponse>> reader = stub_->ListUsageRecords(&context, request);

  ListSummary summary;
  const bool refused = !ReadAll(*reader, on_record, on_message_end, summary);
  summary.status = FinishCall(context, *reader, refused,
                              absl::StrCat("on_record stopped the stream after ", summary.records, " records"));
  summary.correlation_id = InitialMetadata(context, kCorrelationIdMetadata);
  ReadErrorDetails(summary);
  return summary;
}

WatchSummary UsageRecordsClient::WatchBudgets(const WatchOptions& options, const EventCallback& on_event) const {
  grpc::ClientContext context;
  SetUpContext(options, context);
  v1::WatchBudgetsRequest request;
  for (const std::string& threshold : options.thresholds) request.add_thresholds()->set_value(threshold);
  request.mutable_customer_ids()->Add(options.customer_ids.begin(), options.customer_ids.end());
  request.mutable_currency_codes()->Add(options.currency_codes.begin(), options.currency_codes.end());
  if (options.poll_interval.has_value()) SetDuration(*options.poll_interval, request.mutable_poll_interval());
  if (options.cancellation != nullptr) options.cancellation->Attach(&context);
  std::unique_ptr<grpc::ClientReader<v1::WatchBudgetsResponse>> reader = stub_->WatchBudgets(&context, request);

  WatchSummary summary;
  bool refused = false;
  v1::WatchBudgetsResponse response;
  while (!refused && reader->Read(&response)) {
    ++summary.messages;
    refused = on_event && !on_event(response);
  }
  summary.status = FinishCall(context, *reader, refused,
                              absl::StrCat("on_event stopped the stream after ", summary.messages, " messages"));
  if (options.cancellation != nullptr) {
    options.cancellation->Detach();
    if (options.cancellation->cancelled()) {
      summary.status = grpc::Status(grpc::StatusCode::CANCELLED, "the caller cancelled the watch");
    }
  }
  summary.correlation_id = InitialMetadata(context, kCorrelationIdMetadata);
  ReadErrorDetails(summary);
  return summary;
}

}  // namespace pcusage::client
