#include "server/readiness.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/mock_http_transport.h"

namespace pcusage {
namespace {

using ::testing::_;
using ::testing::Return;

// The health statuses a Readiness published, in order.
class Published {
 public:
  Readiness::Publish Publisher() {
    return [this](bool serving) {
      absl::MutexLock lock(&mu_);
      statuses_.push_back(serving);
    };
  }
  std::vector<bool> statuses() const {
    absl::MutexLock lock(&mu_);
    return statuses_;
  }
  // Waits (bounded) until `serving` was published last.
  bool AwaitLast(bool serving) const {
    absl::MutexLock lock(&mu_);
    const auto reached = [this, serving]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !statuses_.empty() && statuses_.back() == serving;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(30));
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<bool> statuses_ ABSL_GUARDED_BY(mu_);
};

class FakeTokenSource final : public tokens::AccessTokenSource {
 public:
  absl::StatusOr<std::string> TokenForCall(std::optional<absl::string_view>, absl::Time) override {
    ++asked;
    return next;
  }
  absl::StatusOr<std::string> next = std::string("token");
  std::atomic<int> asked{0};
};

http::HttpResponse Answer(int status) {
  http::HttpResponse response;
  response.status_code = status;
  return response;
}

TEST(ReadinessTest, ReadyAtStartAndPublishedAtOnce) {
  Readiness readiness({});
  Published published;
  readiness.SetPublisher(published.Publisher());
  EXPECT_TRUE(readiness.ready());
  EXPECT_EQ(published.statuses(), std::vector<bool>({true}));
}

TEST(ReadinessTest, UnreadyAfterTheThresholdOfUnansweredRequestsAndReadyAtTheFirstAnswer) {
  auto readiness = std::make_shared<Readiness>(ReadinessOptions{3, absl::ZeroDuration()});
  Published published;
  readiness->SetPublisher(published.Publisher());
  auto inner = std::make_shared<http::MockHttpTransport>();
  std::shared_ptr<http::HttpTransport> transport = ObservedForReadiness(inner, readiness);
  EXPECT_CALL(*inner, Send(_))
      .WillOnce(Return(absl::UnavailableError("connection refused")))
      .WillOnce(Return(absl::DeadlineExceededError("timed out")))
      .WillOnce(Return(absl::FailedPreconditionError("certificate did not verify")))
      .WillOnce(Return(Answer(503)));
  transport->Send({}).IgnoreError();
  transport->Send({}).IgnoreError();
  EXPECT_TRUE(readiness->ready()) << "two in a row is under the threshold";
  transport->Send({}).IgnoreError();
  EXPECT_FALSE(readiness->ready());
  transport->Send({}).IgnoreError();  // an HTTP 503 is an answer: Partner Center is reachable
  EXPECT_TRUE(readiness->ready());
  EXPECT_EQ(published.statuses(), std::vector<bool>({true, false, true}));
}

TEST(ReadinessTest, AnAnswerResetsTheCountAndCancelledRequestsCountForNothing) {
  auto readiness = std::make_shared<Readiness>(ReadinessOptions{2, absl::ZeroDuration()});
  auto inner = std::make_shared<http::MockHttpTransport>();
  std::shared_ptr<http::HttpTransport> transport = ObservedForReadiness(inner, readiness);
  EXPECT_CALL(*inner, Send(_))
      .WillOnce(Return(absl::UnavailableError("reset")))
      .WillOnce(Return(Answer(200)))
      .WillOnce(Return(absl::UnavailableError("reset")))
      .WillOnce(Return(absl::CancelledError("the caller went away")))
      .WillOnce(Return(absl::InvalidArgumentError("bad url")));
  for (int i = 0; i < 5; ++i) transport->Send({}).IgnoreError();
  EXPECT_TRUE(readiness->ready());
}

TEST(ReadinessTest, AFailedTokenMakesItUnreadyAtOnceAndATokenReadyAgain) {
  auto readiness = std::make_shared<Readiness>(ReadinessOptions{3, absl::ZeroDuration()});
  auto inner = std::make_shared<FakeTokenSource>();
  std::shared_ptr<tokens::AccessTokenSource> source = ObservedForReadiness(inner, readiness);
  inner->next = absl::UnauthenticatedError("the refresh token was refused");
  EXPECT_FALSE(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).ok());
  EXPECT_FALSE(readiness->ready());
  inner->next = absl::DeadlineExceededError("the call's deadline");
  EXPECT_FALSE(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).ok());
  EXPECT_FALSE(readiness->ready()) << "a call's own deadline says nothing either way";
  inner->next = std::string("token");
  EXPECT_TRUE(source->TokenForCall(std::nullopt, absl::InfiniteFuture()).ok());
  EXPECT_TRUE(readiness->ready());
}

TEST(ReadinessTest, TheProbeRunsOnlyWhileUnreadyAndItsSuccessMakesItReady) {
  auto readiness = std::make_shared<Readiness>(ReadinessOptions{1, absl::Milliseconds(20)});
  Published published;
  readiness->SetPublisher(published.Publisher());
  auto inner_transport = std::make_shared<http::MockHttpTransport>();
  auto inner_source = std::make_shared<FakeTokenSource>();
  std::shared_ptr<http::HttpTransport> transport = ObservedForReadiness(inner_transport, readiness);
  std::shared_ptr<tokens::AccessTokenSource> source = ObservedForReadiness(inner_source, readiness);
  std::atomic<int> probes{0};
  EXPECT_CALL(*inner_transport, Send(_))
      .WillOnce(Return(absl::UnavailableError("connection refused")))  // a call's
      .WillOnce(Return(absl::UnavailableError("connection refused")))  // the first probe's
      .WillRepeatedly([&probes](const http::HttpRequest& request) {
        EXPECT_EQ(request.url, "https://partner.example/");
        EXPECT_TRUE(request.headers.empty()) << "the probe sends no credentials";
        ++probes;
        return Answer(404);
      });
  readiness->StartProbe(ReadinessProbe(transport, source, "https://partner.example/"));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(inner_source->asked, 0) << "no probe while ready";
  transport->Send({}).IgnoreError();
  ASSERT_TRUE(published.AwaitLast(true) && published.statuses().size() == 3) << published.statuses().size();
  EXPECT_EQ(published.statuses(), std::vector<bool>({true, false, true}));
  EXPECT_GE(inner_source->asked, 2) << "each probe asks the server-held credentials first";
  readiness->StopProbe();
  EXPECT_EQ(probes, 1) << "no probe once ready";
}

TEST(ReadinessTest, NothingIsPublishedOnceFrozen) {
  auto readiness = std::make_shared<Readiness>(ReadinessOptions{1, absl::ZeroDuration()});
  Published published;
  readiness->SetPublisher(published.Publisher());
  readiness->Freeze();
  readiness->TokenFailed("no token");
  EXPECT_FALSE(readiness->ready());
  EXPECT_EQ(published.statuses(), std::vector<bool>({true}));
}

}  // namespace
}  // namespace pcusage
