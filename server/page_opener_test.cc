#include "server/page_opener.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
#include "server/http/mock_http_transport.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/http_responses.h"

namespace pcusage {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using http::MockHttpTransport;
using ::testing::_;
using ::testing::Invoke;

// Partner Center with two pages ("p0-0", "p0-1" then "p1-0"), counting the requests for each and the tokens used.
class TwoPages {
 public:
  explicit TwoPages(MockHttpTransport& transport) {
    ON_CALL(transport, Send(_))
        .WillByDefault(Invoke([this](const HttpRequest& request) -> absl::StatusOr<HttpResponse> {
          const bool second = testing_util::RequestHeader(request, "MS-ContinuationToken").has_value();
          ++requests_[second ? 1 : 0];
          {
            absl::MutexLock lock(&mu_);
            tokens_.push_back(testing_util::RequestHeader(request, "Authorization").value_or(""));
          }
          absl::Notification* gate = gate_.load();
          if (gate != nullptr && second) gate->WaitForNotification();
          return testing_util::JsonResponse(
              second ? testing_util::UsageRecordsPageJson({R"({"resourceId": "p1-0"})"})
                     : testing_util::UsageRecordsPageJson({R"({"resourceId": "p0-0"})", R"({"resourceId": "p0-1"})"},
                                                          "t1"));
        }));
  }
  // Walks started: requests for the first page.
  int walks() const { return requests_[0].load(); }
  std::vector<std::string> tokens() {
    absl::MutexLock lock(&mu_);
    return tokens_;
  }
  // Holds every request for the second page until `gate` is notified.
  void HoldSecondPage(absl::Notification* gate) { gate_ = gate; }

 private:
  std::atomic<int> requests_[2] = {0, 0};
  std::atomic<absl::Notification*> gate_{nullptr};
  absl::Mutex mu_;
  std::vector<std::string> tokens_ ABSL_GUARDED_BY(mu_);
};

// The server's own credentials: one token, counting how often calls asked for it.
class ServerToken : public tokens::AccessTokenSource {
 public:
  absl::StatusOr<std::string> TokenForCall(std::optional<absl::string_view>, absl::Time) override {
    ++asked;
    return std::string("server-token");
  }
  std::atomic<int> asked{0};
};

std::vector<std::string> ReadAll(partner_center::PageSource& pages, absl::Status* end = nullptr) {
  std::vector<std::string> ids;
  for (;;) {
    absl::StatusOr<std::optional<partner_center::FetchedPage>> page = pages.Next();
    if (!page.ok() || !page->has_value()) {
      if (end != nullptr) *end = page.ok() ? absl::OkStatus() : page.status();
      return ids;
    }
    for (std::size_t i = 0; i < (*page)->page.records.size(); ++i) {
      ids.emplace_back((*page)->page.records.ResourceId(i));
    }
  }
}

class PageOpenerTest : public ::testing::Test {
 protected:
  std::unique_ptr<PageOpener> Opener(std::shared_ptr<tokens::AccessTokenSource> token_source,
                                     absl::Duration max_staleness) {
    partner_center::UsageClientOptions options;
    options.base_url = "https://pc.example.test";
    client_ = partner_center::UsageClient::Create(transport_, options, std::make_shared<testing_util::InstantSleeper>())
                  .value();
    PageOpenerOptions opener;
    opener.snapshot_max_staleness = max_staleness;
    return std::make_unique<PageOpener>(client_, std::move(token_source), opener);
  }

  PagesRequest Request(const std::string& authorization = "Bearer caller-a") const {
    PagesRequest request;
    request.caller_authorization = authorization;
    request.correlation_id = "aaaa0000-bb11-2222-33cc-444444dddddd";
    request.deadline = absl::Now() + absl::Seconds(30);
    request.start.page = client_->FirstPage();
    return request;
  }

  std::shared_ptr<testing::NiceMock<MockHttpTransport>> transport_ =
      std::make_shared<testing::NiceMock<MockHttpTransport>>();
  TwoPages upstream_{*transport_};
  std::shared_ptr<const partner_center::UsageClient> client_;
};

TEST_F(PageOpenerTest, WithSharingOffEveryCallWalksOnItsOwn) {
  auto opener = Opener(std::make_shared<tokens::CallerTokenSource>(), absl::ZeroDuration());
  EXPECT_FALSE(opener->sharing());
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<CallPages> opened = opener->Open(Request());
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_THAT(ReadAll(*opened->pages), testing::ElementsAre("p0-0", "p0-1", "p1-0"));
    EXPECT_TRUE(opened->origin.snapshot_id.empty());
    EXPECT_FALSE(opened->origin.shared);
  }
  EXPECT_EQ(upstream_.walks(), 2);
}

TEST_F(PageOpenerTest, ServerHeldCredentialsShareOneSnapshotAndOnlyTheWalkAsksForAToken) {
  auto tokens = std::make_shared<ServerToken>();
  auto opener = Opener(tokens, absl::Minutes(5));
  absl::StatusOr<CallPages> first = opener->Open(Request("Bearer ignored-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(ReadAll(*first->pages), testing::ElementsAre("p0-0", "p0-1", "p1-0"));
  absl::StatusOr<CallPages> second = opener->Open(Request("Bearer ignored-2"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(ReadAll(*second->pages), testing::ElementsAre("p0-0", "p0-1", "p1-0"));
  EXPECT_FALSE(first->origin.shared);
  EXPECT_TRUE(second->origin.shared);
  EXPECT_EQ(second->origin.snapshot_id, first->origin.snapshot_id);
  EXPECT_EQ(second->origin.snapshot_time, first->origin.snapshot_time);
  EXPECT_EQ(upstream_.walks(), 1);
  EXPECT_EQ(tokens->asked.load(), 1);
  EXPECT_THAT(upstream_.tokens(), testing::Each(testing::Eq("Bearer server-token")));
}

TEST_F(PageOpenerTest, PassthroughTokensAreIdentitiesOfTheirOwn) {
  auto opener = Opener(std::make_shared<tokens::CallerTokenSource>(), absl::Minutes(5));
  for (const char* authorization : {"Bearer caller-a", "Bearer caller-b", "Bearer caller-a"}) {
    absl::StatusOr<CallPages> opened = opener->Open(Request(authorization));
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_THAT(ReadAll(*opened->pages), testing::ElementsAre("p0-0", "p0-1", "p1-0"));
  }
  EXPECT_EQ(upstream_.walks(), 2);
  // Each walk used its own caller's token, never another's.
  EXPECT_THAT(upstream_.tokens(),
              testing::ElementsAre("Bearer caller-a", "Bearer caller-a", "Bearer caller-b", "Bearer caller-b"));
  EXPECT_EQ(opener->snapshot_stats().hits, 1);
}

TEST_F(PageOpenerTest, APassthroughCallWithoutABearerTokenIsRefusedBeforeAnyWalk) {
  auto opener = Opener(std::make_shared<tokens::CallerTokenSource>(), absl::Minutes(5));
  PagesRequest request = Request();
  request.caller_authorization.reset();
  absl::StatusOr<CallPages> opened = opener->Open(request);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(upstream_.walks(), 0);
}

TEST_F(PageOpenerTest, ZeroMaxStalenessStartsAFreshWalk) {
  auto opener = Opener(std::make_shared<ServerToken>(), absl::Minutes(5));
  ASSERT_TRUE(opener->Open(Request()).ok());
  PagesRequest fresh = Request();
  fresh.max_staleness = absl::ZeroDuration();
  absl::StatusOr<CallPages> opened = opener->Open(fresh);
  ASSERT_TRUE(opened.ok());
  EXPECT_THAT(ReadAll(*opened->pages), testing::ElementsAre("p0-0", "p0-1", "p1-0"));
  EXPECT_FALSE(opened->origin.shared);
  EXPECT_GE(upstream_.walks(), 1);
}

TEST_F(PageOpenerTest, AResumeInsideAHeldSnapshotAsksPartnerCenterNothing) {
  auto opener = Opener(std::make_shared<ServerToken>(), absl::Minutes(5));
  absl::StatusOr<CallPages> first = opener->Open(Request());
  ASSERT_TRUE(first.ok());
  ReadAll(*first->pages);
  PagesRequest resumed = Request();
  resumed.start.page.page_number = 2;  // as a resume token names the second page
  resumed.start.snapshot_id = first->origin.snapshot_id;
  resumed.start.snapshot_page_index = 1;
  absl::StatusOr<CallPages> opened = opener->Open(resumed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_THAT(ReadAll(*opened->pages), testing::ElementsAre("p1-0"));
  EXPECT_TRUE(opened->origin.shared);
  EXPECT_EQ(opened->origin.snapshot_id, first->origin.snapshot_id);
  EXPECT_EQ(upstream_.walks(), 1);
}

TEST_F(PageOpenerTest, AResumeIntoASnapshotNoLongerHeldWalksFromTheTokensPage) {
  auto opener = Opener(std::make_shared<ServerToken>(), absl::Minutes(5));
  absl::StatusOr<CallPages> first = opener->Open(Request());
  ASSERT_TRUE(first.ok());
  std::optional<partner_center::PagePosition> second_page;
  for (;;) {  // keep the second page's Partner Center position, as the resume token does
    auto page = first->pages->Next();
    ASSERT_TRUE(page.ok());
    if (!page->has_value()) break;
    if ((*page)->index_in_walk == 1) second_page = (*page)->position;
  }
  ASSERT_TRUE(second_page.has_value());
  PagesRequest resumed = Request();
  resumed.start.page = *second_page;
  resumed.start.snapshot_id = "not-held";
  resumed.start.snapshot_page_index = 1;
  absl::StatusOr<CallPages> opened = opener->Open(resumed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_THAT(ReadAll(*opened->pages), testing::ElementsAre("p1-0"));
  EXPECT_TRUE(opened->origin.snapshot_id.empty());
  EXPECT_EQ(upstream_.walks(), 1);  // the fallback asked for the second page only
}

TEST_F(PageOpenerTest, AReaderWaitingForTheWalkEndsSoonAfterItsCallIsCancelled) {
  absl::Notification release;
  upstream_.HoldSecondPage(&release);
  auto opener = Opener(std::make_shared<ServerToken>(), absl::Minutes(5));
  const absl::Cleanup release_upstream = [&release] { release.Notify(); };  // before the opener waits for its walk
  std::atomic<bool> cancelled{false};
  PagesRequest request = Request();
  request.is_cancelled = [&cancelled] { return cancelled.load(); };
  absl::StatusOr<CallPages> opened = opener->Open(request);
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(opened->pages->Next().ok());  // the first page; the second is held upstream
  cancelled = true;
  absl::Status end;
  ReadAll(*opened->pages, &end);
  EXPECT_EQ(end.code(), absl::StatusCode::kCancelled);
}

TEST_F(PageOpenerTest, AReaderWaitingForTheWalkEndsAtItsDeadline) {
  absl::Notification release;
  upstream_.HoldSecondPage(&release);
  auto opener = Opener(std::make_shared<ServerToken>(), absl::Minutes(5));
  const absl::Cleanup release_upstream = [&release] { release.Notify(); };  // before the opener waits for its walk
  PagesRequest request = Request();
  request.deadline = absl::Now() + absl::Milliseconds(80);
  absl::StatusOr<CallPages> opened = opener->Open(request);
  ASSERT_TRUE(opened.ok());
  absl::Status end;
  ReadAll(*opened->pages, &end);
  EXPECT_EQ(end.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(GetErrorInfo(end)->reason(), "CALL_DEADLINE_EXCEEDED");
}

}  // namespace
}  // namespace pcusage
