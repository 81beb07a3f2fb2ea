#include "server/http/retry_policy.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace pcusage::http {
namespace {

RetryOptions Options() {
  RetryOptions options;
  options.max_attempts = 4;
  options.initial_backoff = absl::Seconds(1);
  options.max_backoff = absl::Seconds(5);
  options.backoff_multiplier = 2.0;
  options.max_retry_after = absl::Seconds(60);
  return options;
}

TEST(RetryPolicyTest, PermanentFailuresAreNeverRetried) {
  RetryPolicy policy(Options(), [] { return 0.5; });
  EXPECT_FALSE(policy.DelayBeforeRetry(1, FailureKind::kPermanent, absl::Seconds(1)).has_value());
}

TEST(RetryPolicyTest, BackoffGrowsExponentiallyWithFullJitterUpToTheCap) {
  RetryPolicy at_top(Options(), [] { return 0.999999; });
  EXPECT_NEAR(absl::ToDoubleSeconds(*at_top.DelayBeforeRetry(1, FailureKind::kServerError, std::nullopt)), 1, 1e-3);
  EXPECT_NEAR(absl::ToDoubleSeconds(*at_top.DelayBeforeRetry(2, FailureKind::kConnection, std::nullopt)), 2, 1e-3);
  EXPECT_NEAR(absl::ToDoubleSeconds(*at_top.DelayBeforeRetry(3, FailureKind::kTimeout, std::nullopt)), 4, 1e-3);
  RetryOptions long_options = Options();
  long_options.max_attempts = 10;
  RetryPolicy capped(long_options, [] { return 0.999999; });
  EXPECT_NEAR(absl::ToDoubleSeconds(*capped.DelayBeforeRetry(8, FailureKind::kServerError, std::nullopt)), 5, 1e-3);

  RetryPolicy at_bottom(Options(), [] { return 0.0; });
  EXPECT_EQ(*at_bottom.DelayBeforeRetry(3, FailureKind::kServerError, std::nullopt), absl::ZeroDuration());
  RetryPolicy halfway(Options(), [] { return 0.5; });
  EXPECT_EQ(*halfway.DelayBeforeRetry(3, FailureKind::kServerError, std::nullopt), absl::Seconds(2));
}

TEST(RetryPolicyTest, AttemptsRunOut) {
  RetryPolicy policy(Options(), [] { return 0.5; });
  EXPECT_TRUE(policy.DelayBeforeRetry(3, FailureKind::kServerError, std::nullopt).has_value());
  EXPECT_FALSE(policy.DelayBeforeRetry(4, FailureKind::kServerError, std::nullopt).has_value());
  EXPECT_FALSE(policy.DelayBeforeRetry(4, FailureKind::kThrottled, absl::Seconds(1)).has_value());
}

TEST(RetryPolicyTest, ThrottlingWaitsExactlyRetryAfter) {
  RetryPolicy policy(Options(), [] { return 0.5; });
  EXPECT_EQ(*policy.DelayBeforeRetry(1, FailureKind::kThrottled, absl::Seconds(7)), absl::Seconds(7));
  // Past max_backoff is fine: Partner Center asked for it.
  EXPECT_EQ(*policy.DelayBeforeRetry(1, FailureKind::kThrottled, absl::Seconds(30)), absl::Seconds(30));
  EXPECT_FALSE(policy.DelayBeforeRetry(1, FailureKind::kThrottled, absl::Seconds(61)).has_value());
  // Without a hint, throttling backs off like a server error.
  EXPECT_EQ(*policy.DelayBeforeRetry(2, FailureKind::kThrottled, std::nullopt), absl::Seconds(1));
}

TEST(ParseRetryAfterTest, SecondsAndHttpDates) {
  const absl::Time now = absl::FromUnixSeconds(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfterHeader("7", now), absl::Seconds(7));
  EXPECT_EQ(ParseRetryAfterHeader(" 0 ", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfterHeader("Wed, 21 Oct 2015 07:28:30 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfterHeader("Wed, 21 Oct 2015 07:27:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfterHeader("99999999999999999999", now), absl::InfiniteDuration());
  for (const char* bad : {"", "-1", "soon", "1.5", "7s", "Wed, 21 Oct 2015 07:28:30 PST"}) {
    EXPECT_FALSE(ParseRetryAfterHeader(bad, now).has_value()) << bad;
  }
}

TEST(RealSleeperTest, StopsEarlyWhenCancelled) {
  RealSleeper sleeper;
  const absl::Time start = absl::Now();
  EXPECT_FALSE(sleeper.Sleep(absl::Seconds(30), [] { return true; }));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(sleeper.Sleep(absl::Milliseconds(1), {}));
}

}  // namespace
}  // namespace pcusage::http
