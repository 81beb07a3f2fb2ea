#include "server/tokens/refresh_token_source.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
#include "server/common/secrets.h"
#include "server/http/mock_http_transport.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/http_responses.h"

namespace pcusage::tokens {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using http::MockHttpTransport;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Not;
using ::testing::Return;
using testing_util::JsonResponse;

HttpResponse Granted(const std::string& access_token, const std::string& rotated = "", int expires_in = 3600) {
  std::string body = absl::StrCat(R"({"token_type": "Bearer", "access_token": ")", access_token,
                                  R"(", "expires_in": ")", expires_in, "\"");
  if (!rotated.empty()) absl::StrAppend(&body, R"(, "refresh_token": ")", rotated, "\"");
  return JsonResponse(body + "}", 200);
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

class RefreshTokenSourceTest : public testing::Test {
 protected:
  void SetUp() override { std::ofstream(path_, std::ios::trunc) << "rt-initial\n"; }

  std::unique_ptr<RefreshTokenSource> Make(const std::string& token_url = "https://login.example/t1/oauth2/token") {
    RefreshTokenOptions options;
    options.token_url = token_url;
    options.client_id = "client 1";
    options.client_secret = "s3cret&=";
    options.refresh_token_file = path_;
    options.retry.max_attempts = 1;  // these tests are about single requests; RetriesTransientFailures is not
    auto source = RefreshTokenSource::Create(transport_, options, sleeper_);
    EXPECT_TRUE(source.ok()) << source.status();
    return *std::move(source);
  }

  std::unique_ptr<RefreshTokenSource> MakeWithDefaultRetries() {
    RefreshTokenOptions options;
    options.token_url = "https://login.example/t1/oauth2/token";
    options.client_id = "client 1";
    options.refresh_token_file = path_;
    return RefreshTokenSource::Create(transport_, options, sleeper_).value();
  }

  std::shared_ptr<MockHttpTransport> transport_ = std::make_shared<MockHttpTransport>();
  std::string path_ = std::string(std::getenv("TEST_TMPDIR")) + "/refresh_token";
  std::shared_ptr<testing_util::FakeSleeper> sleeper_ =
      std::make_shared<testing_util::FakeSleeper>(absl::FromUnixSeconds(1800000000));
};

TEST_F(RefreshTokenSourceTest, ExchangesTheRefreshTokenWithTheV1Form) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([](const HttpRequest& request) {
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.url, "https://login.example/t1/oauth2/token");
    EXPECT_EQ(request.body,
              "grant_type=refresh_token&client_id=client%201&refresh_token=rt-initial&client_secret=s3cret%26%3D"
              "&resource=https%3A%2F%2Fapi.partnercenter.microsoft.com");
    return Granted("at-1");
  }));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-1");
}

TEST_F(RefreshTokenSourceTest, V2EndpointsAskForAScope) {
  auto source = Make("https://login.example/t1/oauth2/v2.0/token");
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([](const HttpRequest& request) {
    EXPECT_THAT(request.body, HasSubstr("&scope=https%3A%2F%2Fapi.partnercenter.microsoft.com%2Fuser_impersonation"));
    EXPECT_THAT(request.body, Not(HasSubstr("resource=")));
    return JsonResponse(R"({"access_token": "at-v2", "expires_in": 3599})", 200);
  }));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-v2");
}

TEST_F(RefreshTokenSourceTest, CachesUntilShortlyBeforeExpiry) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(Granted("at-1"))).WillOnce(Return(Granted("at-2")));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-1");
  sleeper_->Advance(absl::Minutes(54));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-1");
  sleeper_->Advance(absl::Minutes(2));  // inside the 5-minute margin
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-2");
  EXPECT_EQ(source->refreshes(), 2);
}

TEST_F(RefreshTokenSourceTest, ShortLivedTokensAreRenewedInTheirLastQuarter) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(Granted("at-1", "", /*expires_in=*/8)))
      .WillOnce(Return(Granted("at-2", "", 8)));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-1");
  sleeper_->Advance(absl::Seconds(5));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-1");
  sleeper_->Advance(absl::Seconds(2));  // 7 s of 8: inside the last quarter
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-2");
}

TEST_F(RefreshTokenSourceTest, RotatedRefreshTokenIsWrittenBackPrivately) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(Granted("at-1", "rt-second")))
      .WillOnce(Invoke([](const HttpRequest& request) {
        EXPECT_THAT(request.body, HasSubstr("refresh_token=rt-second&"));
        return Granted("at-2");
      }));
  ASSERT_TRUE(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).ok());
  EXPECT_EQ(ReadFile(path_), "rt-second\n");
  struct stat info;
  ASSERT_EQ(stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  sleeper_->Advance(absl::Hours(2));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-2");
}

TEST_F(RefreshTokenSourceTest, RejectionForcesOneRefreshSharedByCallersWithTheSameStaleToken) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(Granted("at-1"))).WillOnce(Return(Granted("at-2")));
  ASSERT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-1");
  EXPECT_EQ(source->TokenAfterRejection("at-1", absl::InfiniteFuture()).value(), "at-2");
  // A second caller that also held at-1 gets the new token without another request.
  EXPECT_EQ(source->TokenAfterRejection("at-1", absl::InfiniteFuture()).value(), "at-2");
  EXPECT_EQ(source->refreshes(), 2);
}

TEST_F(RefreshTokenSourceTest, ReplacedAccessTokensStayRedactedUntilTheyExpire) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(Granted("access-token-1", "", 3600)))
      .WillOnce(Return(Granted("access-token-2", "", 7200)))
      .WillOnce(Return(Granted("access-token-3", "", 7200)))
      .WillOnce(Return(Granted("access-token-4", "", 7200)));
  ASSERT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "access-token-1");
  // Partner Center refuses each token: each refusal renews it, and the first still works upstream for an hour.
  ASSERT_EQ(source->TokenAfterRejection("access-token-1", absl::InfiniteFuture()).value(), "access-token-2");
  ASSERT_EQ(source->TokenAfterRejection("access-token-2", absl::InfiniteFuture()).value(), "access-token-3");
  EXPECT_EQ(RedactSecrets("echoed access-token-1 and access-token-2"), "echoed [redacted] and [redacted]");
  sleeper_->Advance(absl::Minutes(61));  // the first has expired; the next renewal lets it go
  ASSERT_EQ(source->TokenAfterRejection("access-token-3", absl::InfiniteFuture()).value(), "access-token-4");
  EXPECT_EQ(RedactSecrets("access-token-1 access-token-2"), "access-token-1 [redacted]");
}

TEST_F(RefreshTokenSourceTest, ConcurrentCallsShareOneRefresh) {
  auto source = Make();
  absl::Notification release;
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([&release](const HttpRequest&) {
    release.WaitForNotification();
    return Granted("at-shared");
  }));
  std::vector<std::thread> callers;
  callers.reserve(8);
  std::vector<std::string> tokens(8);
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&source, &tokens, i] {
      tokens[i] = source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value_or("error");
    });
  }
  absl::SleepFor(absl::Milliseconds(100));  // let the callers queue up behind the first
  release.Notify();
  for (std::thread& caller : callers) caller.join();
  for (const std::string& token : tokens) EXPECT_EQ(token, "at-shared");
  EXPECT_EQ(source->refreshes(), 1);
}

TEST_F(RefreshTokenSourceTest, InvalidGrantSaysTheRefreshTokenMustBeRenewed) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(
          Return(JsonResponse(R"({"error": "invalid_grant", "error_description": "AADSTS70008: The refresh token )"
                              R"(has expired due to inactivity.\r\nTrace ID: abc\r\nCorrelation ID: def"})",
                              400)));
  absl::StatusOr<std::string> token = source->TokenForCall(std::nullopt, absl::InfiniteFuture());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(token.status().message()),
              AllOf(HasSubstr("AADSTS70008"), HasSubstr("must be renewed"), HasSubstr("MFA"),
                    Not(HasSubstr("Trace ID")), Not(HasSubstr("rt-initial")), Not(HasSubstr("s3cret"))));
  EXPECT_EQ(GetErrorInfo(token.status())->reason(), "REFRESH_TOKEN_INVALID");
}

TEST_F(RefreshTokenSourceTest, OtherFailuresAreClassified) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(
          Return(JsonResponse(R"({"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"})", 401)))
      .WillOnce(Return(JsonResponse(R"({"error": "temporarily_unavailable"})", 429)))
      .WillOnce(Return(JsonResponse("", 503)))
      .WillOnce(Return(absl::UnavailableError("connection refused")))
      .WillOnce(Return(JsonResponse(R"({"access_token": "", "expires_in": "3600"})", 200)));
  absl::Status status = source->TokenForCall(std::nullopt, absl::InfiniteFuture()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorInfo(status)->reason(), "TOKEN_REQUEST_REJECTED");
  for (int i = 0; i < 4; ++i) {
    sleeper_->Advance(RefreshTokenSource::kFailureHoldDown);
    status = source->TokenForCall(std::nullopt, absl::InfiniteFuture()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << i;
    EXPECT_EQ(GetErrorInfo(status)->reason(), "TOKEN_ENDPOINT_UNAVAILABLE") << i;
  }
}

TEST_F(RefreshTokenSourceTest, AFailureIsHeldDownInsteadOfRetriedByEveryCall) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(JsonResponse("", 503))).WillOnce(Return(Granted("at-1")));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).status().code(),
            absl::StatusCode::kUnavailable);  // from memory
  EXPECT_EQ(source->refreshes(), 1);
  sleeper_->Advance(RefreshTokenSource::kFailureHoldDown);
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-1");
}

TEST_F(RefreshTokenSourceTest, ARefusedRefreshTokenIsRetriedOnlyOnceTheFileHoldsANewOne) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(JsonResponse(R"({"error": "invalid_grant", "error_description": "AADSTS70008: expired"})", 400)))
      .WillOnce(Invoke([](const HttpRequest& request) {
        EXPECT_THAT(request.body, HasSubstr("refresh_token=rt-renewed&"));
        return Granted("at-1");
      }));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  sleeper_->Advance(absl::Hours(1));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).status().code(),
            absl::StatusCode::kFailedPrecondition);  // still the refused token: not sent again
  EXPECT_EQ(source->refreshes(), 1);
  const std::string temporary = path_ + ".new";
  std::ofstream(temporary) << "rt-renewed\n";
  ASSERT_EQ(std::rename(temporary.c_str(), path_.c_str()), 0);  // the operator signed in again
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-1");
}

TEST_F(RefreshTokenSourceTest, ThrottledTokenEndpointIsUnavailableWithItsRetryAfter) {
  auto source = Make();
  HttpResponse throttled = JsonResponse(R"({"error": "temporarily_unavailable"})", 429);
  throttled.headers.push_back({"retry-after", "12"});
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(throttled));
  absl::Status status = source->TokenForCall(std::nullopt, absl::InfiniteFuture()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(GetRetryInfo(status).has_value());
  EXPECT_EQ(GetRetryInfo(status)->retry_delay().seconds(), 12);
}

TEST_F(RefreshTokenSourceTest, RetriesTransientFailuresWithinTheCall) {
  auto source = MakeWithDefaultRetries();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(JsonResponse("", 503)))
      .WillOnce(Return(absl::UnavailableError("connection reset")))
      .WillOnce(Return(Granted("at-after-retries")))
      .WillOnce(
          Return(JsonResponse(R"({"error": "invalid_grant", "error_description": "AADSTS70008: expired"})", 400)));
  EXPECT_EQ(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-after-retries");
  EXPECT_EQ(sleeper_->sleeps().size(), 2u);
  // A refusal is final: not retried.
  EXPECT_EQ(source->TokenAfterRejection("at-after-retries", absl::InfiniteFuture()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sleeper_->sleeps().size(), 2u);
}

TEST_F(RefreshTokenSourceTest, RetriesNeverWaitPastTheCallsDeadline) {
  auto source = MakeWithDefaultRetries();
  HttpResponse throttled = JsonResponse(R"({"error": "temporarily_unavailable"})", 429);
  throttled.headers.push_back({"retry-after", "5"});
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(throttled));
  absl::Status status = source->TokenForCall(std::nullopt, sleeper_->Now() + absl::Seconds(2)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetRetryInfo(status)->retry_delay().seconds(), 5);
  EXPECT_TRUE(sleeper_->sleeps().empty());
}

TEST_F(RefreshTokenSourceTest, APassedDeadlineSendsNoRequest) {
  auto source = Make();
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  EXPECT_EQ(source->TokenForCall(std::nullopt, sleeper_->Now() - absl::Seconds(1)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(RefreshTokenSourceTest, UnusableRefreshTokenFilesAreRejectedAtStart) {
  RefreshTokenOptions options;
  options.token_url = "https://login.example/t1/oauth2/token";
  options.client_id = "c";
  options.refresh_token_file = path_ + ".missing";
  EXPECT_FALSE(RefreshTokenSource::Create(transport_, options).ok());
  std::ofstream(path_, std::ios::trunc) << "two\ntokens";
  options.refresh_token_file = path_;
  absl::Status status = RefreshTokenSource::Create(transport_, options).status();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("tokens")));
}

}  // namespace
}  // namespace pcusage::tokens
