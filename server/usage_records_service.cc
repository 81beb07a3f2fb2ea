#include "server/usage_records_service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/error_details.h"
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

// The caller's API key and verified client certificate identities, for the CallerAuthenticator.
auth::CallerCredentials Caller(const grpc::ServerContext& context) {
  auth::CallerCredentials caller;
  if (std::optional<absl::string_view> key = Metadata(context, auth::kApiKeyMetadata))
    caller.api_key = std::string(*key);
  if (std::shared_ptr<const grpc::AuthContext> auth_context = context.auth_context();
      auth_context != nullptr && auth_context->IsPeerAuthenticated()) {
    for (const char* property : {"x509_common_name", "x509_subject_alternative_name"}) {
      for (const grpc::string_ref& value : auth_context->FindPropertyValues(property)) {
        caller.certificate_identities.emplace_back(value.data(), value.size());
      }
    }
  }
  return caller;
}

absl::StatusOr<int> EffectivePageSize(int requested) {
  if (requested < 0) {
    return WithErrorInfo(
        absl::InvalidArgumentError(absl::StrCat("page_size must not be negative (got ", requested, ")")),
        reason::kInvalidArgument, {{"field", "page_size"}});
  }
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

absl::StatusOr<std::string> CorrelationId(const grpc::ServerContext& context) {
  std::optional<absl::string_view> sent = Metadata(context, kCorrelationIdMetadata);
  if (!sent.has_value()) return NewGuid();
  if (!IsGuid(*sent)) {
    return WithErrorInfo(
        absl::InvalidArgumentError(absl::StrCat(
            kCorrelationIdMetadata, " metadata must be a GUID such as aaaa0000-bb11-2222-33cc-444444dddddd")),
        reason::kInvalidArgument, {{"field", kCorrelationIdMetadata}});
  }
  return std::string(*sent);
}

// Writes pages to the stream in batches of at most `page_size` records, each message with the resume token of the
// position after it. The first message always goes out and carries the stream's metadata. A resumed stream skips
// the records of its first page that the token says were delivered, after checking that page still starts the same.
class BatchWriter {
 public:
  BatchWriter(grpc::ServerWriter<v1::ListUsageRecordsResponse>* writer, int page_size,
              const ResumeTokenCodec& resume_tokens, std::string caller, StreamPosition start)
      : writer_(writer),
        page_size_(page_size),
        resume_tokens_(resume_tokens),
        caller_(std::move(caller)),
        start_(std::move(start)) {}

  absl::Status WritePage(partner_center::FetchedPage fetched) {
    auto& records = fetched.page.records;
    std::size_t next = 0;
    if (pages_ == 0 && start_.skip_records > 0) {
      const auto skip = static_cast<std::size_t>(start_.skip_records);
      uint64_t fingerprint = kEmptyFingerprint;
      for (std::size_t i = 0; i < std::min(skip, records.size()); ++i)
        fingerprint = ExtendFingerprint(fingerprint, records[i]);
      if (skip > records.size() || fingerprint != start_.delivered_fingerprint) {
        return WithErrorInfo(absl::FailedPreconditionError(absl::StrCat(
                                 "Partner Center's page ", fetched.position.page_number,
                                 " no longer matches the resume_token (its records moved); list again from the start")),
                             reason::kResumeTokenExpired);
      }
      next = skip;
      fingerprint_ = fingerprint;
    } else {
      fingerprint_ = kEmptyFingerprint;
    }
    while (next < records.size() || messages_ == 0) {
      v1::ListUsageRecordsResponse response;
      if (messages_ == 0 && fetched.page.total_count.has_value()) {
        response.set_partner_center_total_count(*fetched.page.total_count);
      }
      const std::size_t end = std::min(records.size(), next + static_cast<std::size_t>(page_size_));
      for (; next < end; ++next) {
        fingerprint_ = ExtendFingerprint(fingerprint_, records[next]);
        *response.add_usage_records() = std::move(records[next]);
      }
      StreamPosition after = PositionAfter(fetched, end, fingerprint_);
      after.caller = caller_;
      response.set_resume_token(resume_tokens_.Encode(after, absl::Now()));
      if (!writer_->Write(response)) {
        return WithErrorInfo(absl::CancelledError(absl::StrCat("the caller went away after ", records_, " records")),
                             reason::kCancelled);
      }
      ++messages_;
      records_ += response.usage_records_size();
    }
    ++pages_;
    return absl::OkStatus();
  }

  int64_t records() const { return records_; }
  int pages() const { return pages_; }

 private:
  // The position after the first `delivered` records of `fetched` (whose fingerprint is `fingerprint`): inside the
  // page, or the start of the next one.
  static StreamPosition PositionAfter(const partner_center::FetchedPage& fetched, std::size_t delivered,
                                      uint64_t fingerprint) {
    StreamPosition position;
    if (delivered == fetched.page.records.size() && fetched.next.has_value()) {
      position.page = *fetched.next;
      return position;
    }
    position.page = fetched.position;
    position.skip_records = static_cast<int64_t>(delivered);
    position.delivered_fingerprint = fingerprint;
    return position;
  }

  grpc::ServerWriter<v1::ListUsageRecordsResponse>* writer_;
  int page_size_;
  const ResumeTokenCodec& resume_tokens_;
  std::string caller_;  // whom the resume tokens belong to
  StreamPosition start_;
  uint64_t fingerprint_ = kEmptyFingerprint;  // of the current page's records written so far
  int messages_ = 0;
  int64_t records_ = 0;
  int pages_ = 0;
};

}  // namespace

UsageRecordsService::UsageRecordsService(std::shared_ptr<const partner_center::UsageClient> client,
                                         std::shared_ptr<auth::AccessTokenSource> tokens,
                                         std::shared_ptr<const ResumeTokenCodec> resume_tokens,
                                         std::shared_ptr<const auth::CallerAuthenticator> callers,
                                         absl::Duration max_call_duration)
    : client_(std::move(client)),
      tokens_(std::move(tokens)),
      resume_tokens_(std::move(resume_tokens)),
      callers_(std::move(callers)),
      max_call_duration_(max_call_duration) {}

absl::StatusOr<StreamPosition> UsageRecordsService::StartPosition(const v1::ListUsageRecordsRequest& request,
                                                                  absl::string_view caller) const {
  StreamPosition start;
  if (request.resume_token().empty()) {
    start.page = client_->FirstPage();
    return start;
  }
  absl::StatusOr<StreamPosition> resumed = resume_tokens_->Decode(request.resume_token(), absl::Now());
  if (!resumed.ok()) {
    return WithErrorInfo(resumed.status(), resumed.status().code() == absl::StatusCode::kFailedPrecondition
                                               ? reason::kResumeTokenExpired
                                               : reason::kResumeTokenInvalid);
  }
  if (!client_->IsOnApiHost(resumed->page.url)) {
    return WithErrorInfo(absl::InvalidArgumentError("resume_token was issued for another Partner Center URL"),
                         reason::kResumeTokenInvalid);
  }
  if (resumed->caller != caller) {
    return WithErrorInfo(absl::InvalidArgumentError("resume_token was issued to another caller"),
                         reason::kResumeTokenInvalid);
  }
  return resumed;
}

grpc::Status UsageRecordsService::ListUsageRecords(grpc::ServerContext* context,
                                                   const v1::ListUsageRecordsRequest* request,
                                                   grpc::ServerWriter<v1::ListUsageRecordsResponse>* writer) {
  const absl::Time started = absl::Now();
  const absl::Time caller_deadline = absl::FromChrono(context->deadline());
  const absl::Time deadline = std::min(caller_deadline, started + max_call_duration_);
  // gRPC ends the call at the caller's own deadline (the caller then sees DEADLINE_EXCEEDED); the watchdog only
  // enforces --max_call_duration, for calls that would outlive it.
  const std::unique_ptr<CallWatchdog::Watch> watch =
      caller_deadline > deadline ? watchdog_.Start(context, deadline) : nullptr;

  absl::StatusOr<std::string> correlation_id = CorrelationId(*context);
  if (!correlation_id.ok()) {
    LogWarning("ListUsageRecords peer ", context->peer(), ": ", correlation_id.status().message());
    return ToGrpcStatus(correlation_id.status());
  }
  context->AddInitialMetadata(kCorrelationIdMetadata, *correlation_id);
  // At once, so the caller has the correlation id even if the call ends at its own deadline before any record.
  writer->SendInitialMetadata();

  // Everything the request itself decides comes before any token is fetched.
  absl::StatusOr<std::string> caller = callers_->Authenticate(Caller(*context));
  absl::StatusOr<int> page_size = EffectivePageSize(request->page_size());
  // Resume tokens belong to the authenticated caller they were issued to (no one, when callers are not
  // authenticated).
  const std::string caller_identity = callers_->enabled() ? caller.value_or("") : "";
  absl::StatusOr<StreamPosition> start = StartPosition(*request, caller_identity);
  absl::Status status = !caller.ok() ? caller.status() : !page_size.ok() ? page_size.status() : start.status();
  absl::StatusOr<std::string> token = absl::FailedPreconditionError("no token fetched for a refused request");
  if (status.ok()) {
    token = tokens_->TokenForCall(Metadata(*context, "authorization"), deadline);
    status = token.status();
  }
  BatchWriter batches(writer, page_size.value_or(kDefaultPageSize), *resume_tokens_, caller_identity,
                      start.ok() ? *start : StreamPosition{});
  if (status.ok()) {
    partner_center::ListCall call;
    call.access_token = *std::move(token);
    call.correlation_id = *correlation_id;
    call.deadline = deadline;
    call.is_cancelled = [context] { return context->IsCancelled(); };
    call.renew_access_token = [this, deadline](absl::string_view rejected) {
      return tokens_->TokenAfterRejection(rejected, deadline);
    };
    status = client_->ListUsageRecords(
        call, start->page, [&batches](partner_center::FetchedPage page) { return batches.WritePage(std::move(page)); });
  }

  const std::string summary = absl::StrCat(
      "ListUsageRecords [MS-CorrelationId ", *correlation_id, "] caller ", caller.value_or("(refused)"), " peer ",
      context->peer(), request->resume_token().empty() ? "" : " (resumed)", ": ", batches.records(), " records from ",
      batches.pages(), " pages in ", absl::FormatDuration(absl::Now() - started));
  if (status.ok()) {
    LogInfo(summary, ": OK");
    return grpc::Status::OK;
  }
  const bool watchdog_fired = watch != nullptr && watch->fired();
  if (status.code() == absl::StatusCode::kCancelled && (watchdog_fired || absl::Now() >= deadline)) {
    // gRPC cancels a call whose deadline passed, and the watchdog one that ran past --max_call_duration.
    status =
        WithErrorInfo(absl::DeadlineExceededError(absl::StrCat(
                          watchdog_fired ? "the call ran past --max_call_duration: " : "the call's deadline passed: ",
                          status.message())),
                      reason::kDeadlineExceeded);
  }
  LogWarning(summary, ": ", absl::StatusCodeToString(status.code()), ": ", status.message());
  if (!GetErrorInfo(status).has_value()) status = WithErrorInfo(status, absl::StatusCodeToString(status.code()));
  return ToGrpcStatus(WithErrorMetadata(status, "ms_correlation_id", *correlation_id));
}

}  // namespace pcusage
