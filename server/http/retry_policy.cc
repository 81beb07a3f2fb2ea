#include "server/http/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"

namespace pcusage::http {
namespace {

double ThreadLocalUniform01() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

}  // namespace

RetryPolicy::RetryPolicy(RetryOptions options, std::function<double()> uniform01)
    : options_(options), uniform01_(uniform01 ? std::move(uniform01) : ThreadLocalUniform01) {}

std::optional<absl::Duration> RetryPolicy::DelayBeforeRetry(int failed_attempt, FailureKind kind,
                                                            std::optional<absl::Duration> retry_after) const {
  if (kind == FailureKind::kPermanent || failed_attempt >= options_.max_attempts) return std::nullopt;
  if (kind == FailureKind::kThrottled && retry_after.has_value()) {
    if (*retry_after > options_.max_retry_after) return std::nullopt;
    return std::max(*retry_after, absl::ZeroDuration());
  }
  return BackoffCeiling(failed_attempt) * uniform01_();  // full jitter
}

absl::Duration RetryPolicy::BackoffCeiling(int failed_attempt) const {
  const double growth = std::pow(options_.backoff_multiplier, std::max(0, failed_attempt - 1));
  return std::min(options_.max_backoff, options_.initial_backoff * growth);
}

std::optional<absl::Duration> ParseRetryAfterHeader(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (!value.empty() && std::all_of(value.begin(), value.end(),
                                    [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); })) {
    int64_t seconds = 0;
    // Too many digits to count is still a number of seconds: longer than anyone waits.
    return absl::SimpleAtoi(value, &seconds) ? absl::Seconds(seconds) : absl::InfiniteDuration();
  }
  absl::Time date;
  std::string error;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), absl::UTCTimeZone(), &date, &error)) {
    return std::max(date - now, absl::ZeroDuration());
  }
  return std::nullopt;
}

absl::Time RealSleeper::Now() { return absl::Now(); }

bool RealSleeper::Sleep(absl::Duration duration, const std::function<bool()>& is_cancelled) {
  const absl::Time until = absl::Now() + duration;
  for (absl::Duration left = duration; left > absl::ZeroDuration(); left = until - absl::Now()) {
    if (is_cancelled && is_cancelled()) return false;
    absl::SleepFor(std::min(left, absl::Milliseconds(50)));
  }
  return !(is_cancelled && is_cancelled());
}

}  // namespace pcusage::http
