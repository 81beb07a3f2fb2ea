#include "server/usage_records_service.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/guid.h"
#include "server/common/log.h"
#include "server/grpc_status.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;

std::optional<absl::string_view> Metadata(const grpc::ServerContext& context, absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

absl::StatusOr<int> EffectivePageSize(int requested) {
  if (requested < 0) {
    return absl::InvalidArgumentError(absl::StrCat("page_size must not be negative (got ", requested, ")"));
  }
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

absl::StatusOr<std::string> CorrelationId(const grpc::ServerContext& context) {
  std::optional<absl::string_view> sent = Metadata(context, kCorrelationIdMetadata);
  if (!sent.has_value()) return NewGuid();
  if (!IsGuid(*sent)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kCorrelationIdMetadata, " metadata must be a GUID such as aaaa0000-bb11-2222-33cc-444444dddddd"));
  }
  return std::string(*sent);
}

// Writes pages to the stream in batches of at most `page_size` records; the first message always goes out and
// carries the stream's metadata.
class BatchWriter {
 public:
  BatchWriter(grpc::ServerWriter<v1::ListUsageRecordsResponse>* writer, int page_size)
      : writer_(writer), page_size_(page_size) {}

  absl::Status WritePage(partner_center::UsageRecordsPage page) {
    std::size_t next = 0;
    while (next < page.records.size() || messages_ == 0) {
      v1::ListUsageRecordsResponse response;
      if (messages_ == 0 && page.total_count.has_value()) {
        response.set_partner_center_total_count(*page.total_count);
      }
      const std::size_t end = std::min(page.records.size(), next + static_cast<std::size_t>(page_size_));
      for (; next < end; ++next) *response.add_usage_records() = std::move(page.records[next]);
      if (!writer_->Write(response)) {
        return absl::CancelledError(absl::StrCat("the caller went away after ", records_, " records"));
      }
      ++messages_;
      records_ += response.usage_records_size();
    }
    ++pages_;
    return absl::OkStatus();
  }

  int records() const { return records_; }
  int pages() const { return pages_; }

 private:
  grpc::ServerWriter<v1::ListUsageRecordsResponse>* writer_;
  int page_size_;
  int messages_ = 0;
  int records_ = 0;
  int pages_ = 0;
};

}  // namespace

UsageRecordsService::UsageRecordsService(std::shared_ptr<const partner_center::UsageClient> client,
                                         std::shared_ptr<auth::AccessTokenSource> tokens)
    : client_(std::move(client)), tokens_(std::move(tokens)) {}

grpc::Status UsageRecordsService::ListUsageRecords(grpc::ServerContext* context,
                                                   const v1::ListUsageRecordsRequest* request,
                                                   grpc::ServerWriter<v1::ListUsageRecordsResponse>* writer) {
  const absl::Time started = absl::Now();
  absl::StatusOr<std::string> correlation_id = CorrelationId(*context);
  if (!correlation_id.ok()) return ToGrpcStatus(correlation_id.status());
  context->AddInitialMetadata(kCorrelationIdMetadata, *correlation_id);

  absl::StatusOr<int> page_size = EffectivePageSize(request->page_size());
  absl::StatusOr<std::string> token = tokens_->TokenForCall(Metadata(*context, "authorization"));
  BatchWriter batches(writer, page_size.ok() ? *page_size : kDefaultPageSize);
  absl::Status status = !page_size.ok() ? page_size.status() : token.status();
  if (status.ok()) {
    partner_center::ListCall call;
    call.access_token = *std::move(token);
    call.correlation_id = *correlation_id;
    call.deadline = absl::FromChrono(context->deadline());
    call.is_cancelled = [context] { return context->IsCancelled(); };
    status = client_->ListUsageRecords(
        call, [&batches](partner_center::UsageRecordsPage page) { return batches.WritePage(std::move(page)); });
  }

  const std::string summary =
      absl::StrCat("ListUsageRecords [MS-CorrelationId ", *correlation_id, "] peer ", context->peer(), ": ",
                   batches.records(), " records from ", batches.pages(), " pages in ",
                   absl::FormatDuration(absl::Now() - started));
  if (status.ok()) {
    LogInfo(summary, ": OK");
  } else {
    LogWarning(summary, ": ", absl::StatusCodeToString(status.code()), ": ", status.message());
  }
  return ToGrpcStatus(status);
}

}  // namespace pcusage
