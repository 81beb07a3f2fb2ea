#include "server/http/retry_loop.h"

#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/metrics/pcusage_metrics.h"

namespace pcusage::http::internal {
namespace {

std::map<std::string, std::string> WithAttempts(std::map<std::string, std::string> metadata, int attempt) {
  metadata["attempts"] = absl::StrCat(attempt);
  return metadata;
}

// The reason label of pcusage_upstream_retries_total.
absl::string_view RetryReason(FailureKind failure) {
  switch (failure) {
    case FailureKind::kThrottled:
      return "throttled";
    case FailureKind::kServerError:
      return "server_error";
    case FailureKind::kConnection:
      return "connection";
    default:
      return "timeout";
  }
}

}  // namespace

absl::Status BeforeAttempt(Sleeper& sleeper, const CallBounds& call, const RetryScope& scope, int attempt) {
  if (call.is_cancelled && call.is_cancelled()) {
    return WithErrorInfo(absl::CancelledError(absl::StrCat("the call was cancelled before ", scope.what)),
                         reason::kCancelled, WithAttempts(scope.metadata, attempt));
  }
  if (call.deadline - sleeper.Now() <= absl::ZeroDuration()) {
    return WithErrorInfo(
        absl::DeadlineExceededError(absl::StrCat("the call's deadline passed before ", scope.what, " was requested")),
        reason::kDeadlineExceeded, WithAttempts(scope.metadata, attempt));
  }
  return absl::OkStatus();
}

absl::Status AfterFailure(const RetryPolicy& policy, Sleeper& sleeper, const CallBounds& call, const RetryScope& scope,
                          int attempt, absl::Status error, FailureKind failure,
                          std::optional<absl::Duration> retry_after) {
  error = WithErrorMetadata(std::move(error), "attempts", absl::StrCat(attempt));
  if (failure == FailureKind::kTimeout && sleeper.Now() >= call.deadline) {
    return WithErrorInfo(absl::DeadlineExceededError(absl::StrCat("the call's deadline passed: ", error.message())),
                         reason::kDeadlineExceeded, WithAttempts(scope.metadata, attempt));
  }
  const std::optional<absl::Duration> delay = policy.DelayBeforeRetry(attempt, failure, retry_after);
  if (!delay.has_value()) {
    if (failure == FailureKind::kThrottled) {
      error = WithRetryInfo(error, retry_after.value_or(policy.BackoffCeiling(attempt)));
    }
    if (failure == FailureKind::kPermanent) return error;
    return AppendToMessage(error, absl::StrCat(" (gave up after ", attempt, attempt == 1 ? " attempt)" : " attempts)"));
  }
  const std::string wait = absl::FormatDuration(*delay);
  if (sleeper.Now() + *delay >= call.deadline) {
    if (failure == FailureKind::kThrottled) {
      return WithRetryInfo(
          AppendToMessage(error, absl::StrCat("; waiting ", wait, " to retry would pass the call's deadline")), *delay);
    }
    return WithErrorInfo(
        absl::DeadlineExceededError(absl::StrCat("retrying ", scope.what, " in ", wait,
                                                 " would pass the call's deadline; last error: ", error.message())),
        reason::kDeadlineExceeded, WithAttempts(scope.metadata, attempt));
  }
  metrics::UpstreamRetry(RetryReason(failure), *delay);
  LogInfo(scope.trace, " retrying in ", wait, " (attempt ", attempt + 1, " of ", policy.options().max_attempts, ")");
  if (!sleeper.Sleep(*delay, call.is_cancelled)) {
    return WithErrorInfo(
        absl::CancelledError(absl::StrCat("the call was cancelled while waiting to retry ", scope.what)),
        reason::kCancelled, WithAttempts(scope.metadata, attempt));
  }
  return absl::OkStatus();
}

}  // namespace pcusage::http::internal
