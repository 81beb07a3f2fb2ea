#include "server/http/retry_loop.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
#include "tests/testing/fake_sleeper.h"

namespace pcusage::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class RetryLoopTest : public ::testing::Test {
 protected:
  RetryLoopTest() {
    options_.max_attempts = 4;
    options_.initial_backoff = absl::Seconds(1);
    options_.max_backoff = absl::Seconds(8);
    scope_.what = "page 7";
    scope_.trace = "page 7 GET https://pc.example.test/v1";
    scope_.metadata = {{"page", "7"}};
  }

  // Runs the loop over `outcomes`, one an attempt; records each attempt's number and time left.
  absl::StatusOr<std::string> Run(std::vector<Attempt<std::string>> outcomes, const CallBounds& call = {}) {
    RetryPolicy policy(options_, [] { return 0.5; });
    std::size_t next = 0;
    return RetryLoop<std::string>(policy, sleeper_, call, scope_,
                                  [&](int attempt, absl::Duration time_left) -> Attempt<std::string> {
                                    attempts_.push_back(attempt);
                                    time_left_.push_back(time_left);
                                    return outcomes.at(next++);
                                  });
  }

  static std::string Attempts(const absl::Status& status) {
    std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
    return info.has_value() && info->metadata().count("attempts") ? info->metadata().at("attempts") : "";
  }

  static Attempt<std::string> Failure(FailureKind kind, std::optional<absl::Duration> retry_after = std::nullopt) {
    return {WithErrorInfo(absl::UnavailableError("HTTP 503"), "PARTNER_CENTER_UNAVAILABLE"), kind, retry_after};
  }

  RetryOptions options_;
  RetryScope scope_;
  testing_util::FakeSleeper sleeper_;
  std::vector<int> attempts_;
  std::vector<absl::Duration> time_left_;
};

TEST_F(RetryLoopTest, AFirstSuccessNeverWaits) {
  EXPECT_EQ(Run({std::string("page")}).value(), "page");
  EXPECT_THAT(attempts_, ElementsAre(1));
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(RetryLoopTest, RetryableFailuresAreRetriedWithBackoff) {
  absl::StatusOr<std::string> result = Run({Failure(FailureKind::kServerError), Failure(FailureKind::kConnection),
                                            Failure(FailureKind::kTimeout), std::string("page")});
  EXPECT_EQ(result.value(), "page");
  EXPECT_THAT(attempts_, ElementsAre(1, 2, 3, 4));
  // Full jitter drew 0.5 of the ceilings 1 s, 2 s, 4 s.
  EXPECT_THAT(sleeper_.sleeps(), ElementsAre(absl::Milliseconds(500), absl::Seconds(1), absl::Seconds(2)));
}

TEST_F(RetryLoopTest, APermanentFailureIsReturnedAtOnceAsItIs) {
  absl::Status status = Run({Attempt<std::string>(absl::NotFoundError("HTTP 404"))}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "HTTP 404");
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(RetryLoopTest, GivesUpAfterMaxAttemptsAndSaysSo) {
  absl::Status status = Run({Failure(FailureKind::kServerError), Failure(FailureKind::kServerError),
                             Failure(FailureKind::kServerError), Failure(FailureKind::kServerError)})
                            .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("(gave up after 4 attempts)"));
  EXPECT_EQ(Attempts(status), "4");
  EXPECT_EQ(GetErrorInfo(status)->reason(), "PARTNER_CENTER_UNAVAILABLE");
  EXPECT_FALSE(GetRetryInfo(status).has_value());
}

TEST_F(RetryLoopTest, ThrottlingWaitsWhatTheUpstreamAsksAndEndsWithRetryInfo) {
  options_.max_attempts = 2;
  absl::Status status =
      Run({Failure(FailureKind::kThrottled, absl::Seconds(7)), Failure(FailureKind::kThrottled, absl::Seconds(9))})
          .status();
  EXPECT_THAT(sleeper_.sleeps(), ElementsAre(absl::Seconds(7)));
  ASSERT_TRUE(GetRetryInfo(status).has_value());
  EXPECT_EQ(GetRetryInfo(status)->retry_delay().seconds(), 9);
}

TEST_F(RetryLoopTest, ThrottlingWithoutRetryAfterBacksOffAndSuggestsTheCeiling) {
  options_.max_attempts = 1;
  absl::Status status = Run({Failure(FailureKind::kThrottled)}).status();
  EXPECT_EQ(GetRetryInfo(status)->retry_delay().seconds(), 1);
  EXPECT_THAT(std::string(status.message()), HasSubstr("(gave up after 1 attempt)"));
}

TEST_F(RetryLoopTest, NoWaitPassesTheDeadline) {
  const CallBounds call{sleeper_.Now() + absl::Seconds(5), nullptr};
  absl::Status throttled = Run({Failure(FailureKind::kThrottled, absl::Seconds(30))}, call).status();
  EXPECT_EQ(throttled.code(), absl::StatusCode::kUnavailable);  // the upstream's own status, with its delay
  EXPECT_THAT(std::string(throttled.message()), HasSubstr("waiting 30s to retry would pass the call's deadline"));
  EXPECT_EQ(GetRetryInfo(throttled)->retry_delay().seconds(), 30);

  options_.initial_backoff = absl::Seconds(20);
  options_.max_backoff = absl::Seconds(20);
  absl::Status backoff = Run({Failure(FailureKind::kServerError)}, call).status();
  EXPECT_EQ(backoff.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(GetErrorInfo(backoff)->reason(), "CALL_DEADLINE_EXCEEDED");
  EXPECT_EQ(GetErrorInfo(backoff)->metadata().at("page"), "7");
  EXPECT_THAT(std::string(backoff.message()), AllOf(HasSubstr("retrying page 7 in 10s"), HasSubstr("HTTP 503")));
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(RetryLoopTest, APassedDeadlineStartsNoAttempt) {
  absl::Status status = Run({}, CallBounds{sleeper_.Now(), nullptr}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(status.message()), HasSubstr("before page 7 was requested"));
  EXPECT_EQ(Attempts(status), "1");
  EXPECT_TRUE(attempts_.empty());
}

TEST_F(RetryLoopTest, EachAttemptIsToldTheTimeLeft) {
  const CallBounds call{sleeper_.Now() + absl::Seconds(10), nullptr};
  EXPECT_TRUE(Run({Failure(FailureKind::kConnection), std::string("page")}, call).ok());
  EXPECT_THAT(time_left_, ElementsAre(absl::Seconds(10), absl::Milliseconds(9500)));
}

TEST_F(RetryLoopTest, ATimeOutAtTheDeadlineIsTheCallsDeadline) {
  const CallBounds call{sleeper_.Now() + absl::Seconds(10), nullptr};
  RetryPolicy policy(options_);
  absl::Status status = RetryLoop<std::string>(policy, sleeper_, call, scope_,
                                               [this](int, absl::Duration time_left) -> Attempt<std::string> {
                                                 sleeper_.Advance(time_left);  // the transfer used all of it
                                                 return Failure(FailureKind::kTimeout);
                                               })
                            .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(GetErrorInfo(status)->reason(), "CALL_DEADLINE_EXCEEDED");
  EXPECT_THAT(std::string(status.message()), HasSubstr("the call's deadline passed: HTTP 503"));
}

TEST_F(RetryLoopTest, CancellationStopsBeforeAnAttemptAndDuringAWait) {
  bool cancelled = true;
  const CallBounds call{absl::InfiniteFuture(), [&cancelled] { return cancelled; }};
  absl::Status before = Run({}, call).status();
  EXPECT_EQ(before.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(GetErrorInfo(before)->reason(), "CALL_CANCELLED");
  EXPECT_TRUE(attempts_.empty());

  cancelled = false;
  RetryPolicy policy(options_);
  absl::Status during =
      RetryLoop<std::string>(policy, sleeper_, call, scope_, [&cancelled](int, absl::Duration) -> Attempt<std::string> {
        cancelled = true;  // the caller leaves while the loop waits to retry
        return Failure(FailureKind::kServerError);
      }).status();
  EXPECT_EQ(during.code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(std::string(during.message()), HasSubstr("while waiting to retry page 7"));
  EXPECT_THAT(std::string(during.message()), Not(HasSubstr("gave up")));
}

}  // namespace
}  // namespace pcusage::http
