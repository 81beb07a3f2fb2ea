// When and how long to wait before asking an upstream (a Partner Center page, the token endpoint) the same thing
// again: Retry-After on throttling, exponential backoff with full jitter on server errors, connection failures and
// time-outs, never for answers that a retry cannot change. Time is injected so tests never sleep.
#ifndef PCUSAGE_SERVER_HTTP_RETRY_POLICY_H_
#define PCUSAGE_SERVER_HTTP_RETRY_POLICY_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pcusage::http {

// Why one request failed, as far as retrying is concerned (http_status.h classifies HTTP statuses).
enum class FailureKind {
  kThrottled,    // HTTP 429
  kServerError,  // HTTP 500, 502, 503, 504
  kConnection,   // no complete response: refused, reset, TLS, truncated body
  kTimeout,      // the request's own timeout passed (not the call's deadline), or HTTP 408
  kPermanent,    // anything a retry cannot fix
};

struct RetryOptions {
  int max_attempts = 5;  // per request, the first attempt included
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  double backoff_multiplier = 2.0;
  // A throttled request whose Retry-After asks for longer than this is not waited for.
  absl::Duration max_retry_after = absl::Minutes(2);
};

// Decides the wait before the next attempt. Thread safe when `uniform01` is.
class RetryPolicy {
 public:
  // `uniform01` returns a uniformly distributed value in [0, 1); defaults to a thread-local generator.
  explicit RetryPolicy(RetryOptions options, std::function<double()> uniform01 = {});

  // The delay before attempt `failed_attempt + 1`, or nullopt when the failure is final: permanent, attempts used
  // up, or a Retry-After longer than max_retry_after. A throttled failure waits `retry_after` when Partner Center
  // gave one, else backs off like any other retryable failure.
  std::optional<absl::Duration> DelayBeforeRetry(int failed_attempt, FailureKind kind,
                                                 std::optional<absl::Duration> retry_after) const;

  // The most a backoff after attempt `failed_attempt` may wait: min(max_backoff, initial * multiplier^(n - 1)).
  absl::Duration BackoffCeiling(int failed_attempt) const;

  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
  std::function<double()> uniform01_;
};

// Reads a Retry-After header: delay-seconds ("7") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", relative to
// `now`, never negative). nullopt when it is neither.
std::optional<absl::Duration> ParseRetryAfterHeader(absl::string_view value, absl::Time now);

// Waits, and lets tests not wait. Sleep returns early (false) when `is_cancelled` turns true.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual absl::Time Now() = 0;
  virtual bool Sleep(absl::Duration duration, const std::function<bool()>& is_cancelled) = 0;
};

// Real time; checks `is_cancelled` every 50 ms while sleeping.
class RealSleeper final : public Sleeper {
 public:
  absl::Time Now() override;
  bool Sleep(absl::Duration duration, const std::function<bool()>& is_cancelled) override;
};

}  // namespace pcusage::http

#endif  // PCUSAGE_SERVER_HTTP_RETRY_POLICY_H_
