// The one retry loop for every upstream request (a Partner Center page, the token endpoint): runs an attempt, asks
// the RetryPolicy whether and how long to wait, never starts a wait or an attempt past the call's deadline, stops
// when the call is cancelled, and sleeps through an injected Sleeper so tests never wait.
#ifndef PCUSAGE_SERVER_HTTP_RETRY_LOOP_H_
#define PCUSAGE_SERVER_HTTP_RETRY_LOOP_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/http/retry_policy.h"

namespace pcusage::http {

// What one attempt produced: a value, or an error and what a retry could do about it.
template <typename T>
struct Attempt {
  Attempt(T value) : result(std::move(value)) {}  // NOLINT(google-explicit-constructor): an attempt that worked
  // NOLINTNEXTLINE(google-explicit-constructor): `return {status, kind}` reads as the failed attempt it is
  Attempt(absl::Status error, FailureKind failure = FailureKind::kPermanent,
          std::optional<absl::Duration> retry_after = std::nullopt)
      : result(std::move(error)), failure(failure), retry_after(retry_after) {}

  absl::StatusOr<T> result;
  FailureKind failure = FailureKind::kPermanent;  // read only when `result` is an error
  std::optional<absl::Duration> retry_after;      // the upstream's own wait (Retry-After), for kThrottled
};

// The call a loop runs in: nothing is started after `deadline`, and `is_cancelled` (may be empty) stops waits.
struct CallBounds {
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> is_cancelled;
};

// Names what is retried, for the errors and log lines the loop writes itself.
struct RetryScope {
  std::string what;                             // a noun phrase: "page 3", "the access token"
  std::string trace;                            // the prefix of the loop's log lines
  std::map<std::string, std::string> metadata;  // ErrorInfo metadata of the errors the loop makes itself
};

namespace internal {
// Before attempt `attempt`: CANCELLED or DEADLINE_EXCEEDED (reasons CALL_CANCELLED, CALL_DEADLINE_EXCEEDED) when
// none may start; OK otherwise.
absl::Status BeforeAttempt(Sleeper& sleeper, const CallBounds& call, const RetryScope& scope, int attempt);
// After attempt `attempt` failed with `error`: waits and returns OK when a retry is due; otherwise the final error.
absl::Status AfterFailure(const RetryPolicy& policy, Sleeper& sleeper, const CallBounds& call, const RetryScope& scope,
                          int attempt, absl::Status error, FailureKind failure,
                          std::optional<absl::Duration> retry_after);
}  // namespace internal

// Calls `attempt_once(attempt, time_left)` (attempts count from 1; `time_left` is positive) until it succeeds or
// a retry is not allowed. Every error returned carries the ErrorInfo metadata `attempts`. A retryable failure
// that is not retried ends with its own status, " (gave up after N attempts)" appended, and throttling with a
// RetryInfo; a wait that would pass the deadline ends the loop at once (throttling: the upstream's status with a
// RetryInfo; otherwise DEADLINE_EXCEEDED, CALL_DEADLINE_EXCEEDED). A time-out that ends at the deadline is the
// call's deadline, not the upstream's (DEADLINE_EXCEEDED, CALL_DEADLINE_EXCEEDED).
template <typename T>
absl::StatusOr<T> RetryLoop(const RetryPolicy& policy, Sleeper& sleeper, const CallBounds& call,
                            const RetryScope& scope,
                            absl::FunctionRef<Attempt<T>(int attempt, absl::Duration time_left)> attempt_once) {
  for (int attempt = 1;; ++attempt) {
    if (absl::Status refused = internal::BeforeAttempt(sleeper, call, scope, attempt); !refused.ok()) return refused;
    Attempt<T> outcome = attempt_once(attempt, call.deadline - sleeper.Now());
    if (outcome.result.ok()) return std::move(outcome.result);
    absl::Status final_error = internal::AfterFailure(policy, sleeper, call, scope, attempt, outcome.result.status(),
                                                      outcome.failure, outcome.retry_after);
    if (!final_error.ok()) return final_error;
  }
}

}  // namespace pcusage::http

#endif  // PCUSAGE_SERVER_HTTP_RETRY_LOOP_H_
