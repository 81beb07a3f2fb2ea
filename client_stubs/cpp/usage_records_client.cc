#include "client_stubs/cpp/usage_records_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
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

void SetUpContext(const ListOptions& options, grpc::ClientContext& context) {
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

// The ErrorInfo and RetryInfo of the status's grpc-status-details-bin, if any.
void ReadErrorDetails(ListSummary& summary) {
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

UsageRecordsClient::UsageRecordsClient(std::shared_ptr<grpc::Channel> channel)
    : stub_(v1::UsageRecordsService::NewStub(std::move(channel))) {}

ListSummary UsageRecordsClient::ListUsageRecords(const ListOptions& options, const RecordCallback& on_record,
                                                 const MessageEndCallback& on_message_end) const {
  grpc::ClientContext context;
  SetUpContext(options, context);
  v1::ListUsageRecordsRequest request;
  request.set_page_size(options.page_size);
  request.set_resume_token(options.resume_token);
  if (options.max_staleness.has_value()) {
    const int64_t seconds = absl::ToInt64Seconds(*options.max_staleness);
    request.mutable_max_staleness()->set_seconds(seconds);
    request.mutable_max_staleness()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(*options.max_staleness - absl::Seconds(seconds))));
  }
  request.mutable_customer_ids()->Add(options.customer_ids.begin(), options.customer_ids.end());
  request.mutable_currency_codes()->Add(options.currency_codes.begin(), options.currency_codes.end());
  if (options.min_percent_used.has_value()) request.mutable_min_percent_used()->set_value(*options.min_percent_used);
  request.set_only_with_budget(options.only_with_budget);
  std::unique_ptr<grpc::ClientReader<v1::ListUsageRecordsResponse>> reader = stub_->ListUsageRecords(&context, request);

  ListSummary summary;
  const bool refused = !ReadAll(*reader, on_record, on_message_end, summary);
  if (refused) {
    context.TryCancel();
    // Finish may only follow a Read that failed; after TryCancel that comes at once.
    v1::ListUsageRecordsResponse ignored;
    while (reader->Read(&ignored)) {
    }
  }
  summary.status = reader->Finish();
  if (refused) {
    // The server may have finished before the cancellation reached it; the caller still stopped early.
    summary.status = grpc::Status(grpc::StatusCode::CANCELLED,
                                  absl::StrCat("on_record stopped the stream after ", summary.records, " records"));
  }
  summary.correlation_id = InitialMetadata(context, kCorrelationIdMetadata);
  ReadErrorDetails(summary);
  return summary;
}

}  // namespace pcusage::client
