#include "server/partner_center/usage_client.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
#include "server/common/guid.h"
#include "server/http/mock_http_transport.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/http_responses.h"

namespace pcusage::partner_center {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Not;
using ::testing::Return;

constexpr char kBase[] = "https://pc.example.test";

using testing_util::JsonResponse;

// A page of records named `ids`, linking to the page whose continuation token is `next_token` when non-empty.
std::string Page(const std::vector<std::string>& ids, const std::string& next_token = "") {
  std::vector<std::string> items;
  items.reserve(ids.size());
  for (const std::string& id : ids) items.push_back(absl::StrCat(R"({"resourceId": ")", id, "\"}"));
  return testing_util::UsageRecordsPageJson(items, next_token);
}

std::optional<std::string> HeaderOf(const http::HttpRequest& request, absl::string_view name) {
  return testing_util::RequestHeader(request, name);
}

// Pulls every page of `pages` through `consume`, as the service does; an error from `consume` stops the pulling.
absl::Status Drain(PageSource& pages, const std::function<absl::Status(const FetchedPage&)>& consume) {
  for (;;) {
    absl::StatusOr<std::optional<FetchedPage>> page = pages.Next();
    if (!page.ok()) return page.status();
    if (!page->has_value()) return absl::OkStatus();
    if (absl::Status status = consume(**page); !status.ok()) return status;
  }
}

class UsageClientTest : public testing::Test {
 protected:
  std::unique_ptr<UsageClient> MakeClient(UsageClientOptions options = {}) {
    if (options.base_url == UsageClientOptions{}.base_url) options.base_url = kBase;
    absl::StatusOr<std::unique_ptr<UsageClient>> client = UsageClient::Create(transport_, options, sleeper_);
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }

  static ListCall Call() {
    ListCall call;
    call.access_token = "token-123";
    call.correlation_id = "aaaa0000-bb11-2222-33cc-444444dddddd";
    return call;
  }

  // Runs a call and collects the resource ids of the records delivered, page by page.
  static absl::Status List(const UsageClient& client, std::vector<std::vector<std::string>>* pages,
                           const std::optional<ListCall>& call = std::nullopt) {
    return Drain(*client.ListUsageRecords(call.value_or(Call()), client.FirstPage()),
                 [pages](const FetchedPage& fetched) {
                   std::vector<std::string> ids;
                   for (const auto& record : fetched.page.records) ids.push_back(record.resource_id());
                   pages->push_back(ids);
                   return absl::OkStatus();
                 });
  }

  std::shared_ptr<http::MockHttpTransport> transport_ = std::make_shared<http::MockHttpTransport>();
  std::shared_ptr<testing_util::FakeSleeper> sleeper_ = std::make_shared<testing_util::FakeSleeper>();
  std::vector<std::vector<std::string>> pages_;
};

TEST_F(UsageClientTest, SendsPartnerCenterHeaders) {
  UsageClientOptions options;
  options.locale = "sv-SE";
  options.application_name = "billing-sync";
  auto client = MakeClient(options);
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([](const http::HttpRequest& request) {
    EXPECT_EQ(request.url, "https://pc.example.test/v1/customers/usagerecords");
    EXPECT_EQ(HeaderOf(request, "Authorization"), "Bearer token-123");
    EXPECT_EQ(HeaderOf(request, "Accept"), "application/json");
    EXPECT_TRUE(IsGuid(HeaderOf(request, "MS-RequestId").value_or("")));
    EXPECT_EQ(HeaderOf(request, "MS-CorrelationId"), "aaaa0000-bb11-2222-33cc-444444dddddd");
    EXPECT_EQ(HeaderOf(request, "MS-Contract-Version"), "v1");
    EXPECT_EQ(HeaderOf(request, "X-Locale"), "sv-SE");
    EXPECT_EQ(HeaderOf(request, "MS-PartnerCenter-Application"), "billing-sync");
    EXPECT_FALSE(HeaderOf(request, "MS-ContinuationToken").has_value());
    EXPECT_LE(request.timeout, absl::Minutes(2));
    return JsonResponse(Page({"a", "b"}));
  }));
  std::vector<std::vector<std::string>> pages;
  ASSERT_TRUE(List(*client, &pages).ok());
  EXPECT_THAT(pages, ElementsAre(ElementsAre("a", "b")));
}

TEST_F(UsageClientTest, FollowsNextLinksWithTheirHeadersUntilAbsent) {
  auto client = MakeClient();
  std::vector<http::HttpRequest> requests;
  EXPECT_CALL(*transport_, Send(_)).Times(3).WillRepeatedly(Invoke([&requests](const http::HttpRequest& request) {
    requests.push_back(request);
    std::optional<std::string> token = HeaderOf(request, "MS-ContinuationToken");
    if (!token.has_value()) return JsonResponse(Page({"a", "b"}, "t2"));
    if (*token == "t2") return JsonResponse(Page({"c"}, "t3"));
    return JsonResponse(Page({"d", "e"}));
  }));
  std::vector<std::vector<std::string>> pages;
  ASSERT_TRUE(List(*client, &pages).ok());
  EXPECT_THAT(pages, ElementsAre(ElementsAre("a", "b"), ElementsAre("c"), ElementsAre("d", "e")));

  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].url, "https://pc.example.test/v1/customers/usagerecords?seekOperation=Next");
  EXPECT_EQ(HeaderOf(requests[2], "MS-ContinuationToken"), "t3");
  // The link's Authorization header does not replace pcusage's own.
  EXPECT_EQ(HeaderOf(requests[1], "Authorization"), "Bearer token-123");
  // One MS-RequestId per page request, one MS-CorrelationId for the call.
  EXPECT_NE(HeaderOf(requests[0], "MS-RequestId"), HeaderOf(requests[1], "MS-RequestId"));
  EXPECT_NE(HeaderOf(requests[1], "MS-RequestId"), HeaderOf(requests[2], "MS-RequestId"));
  EXPECT_EQ(HeaderOf(requests[0], "MS-CorrelationId"), HeaderOf(requests[2], "MS-CorrelationId"));
}

TEST_F(UsageClientTest, RepeatedContinuationEndsTheCallInsteadOfLooping) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).Times(2).WillRepeatedly(Invoke([](const http::HttpRequest& request) {
    return HeaderOf(request, "MS-ContinuationToken").has_value() ? JsonResponse(Page({"b"}, "same"))
                                                                 : JsonResponse(Page({"a"}, "same"));
  }));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("repeats an earlier page"));
  EXPECT_THAT(pages, ElementsAre(ElementsAre("a"), ElementsAre("b")));
}

TEST_F(UsageClientTest, PageLimitEndsAnEndlessCollection) {
  UsageClientOptions options;
  options.max_pages = 3;
  auto client = MakeClient(options);
  int served = 0;
  EXPECT_CALL(*transport_, Send(_)).Times(3).WillRepeatedly(Invoke([&served](const http::HttpRequest&) {
    ++served;
    return JsonResponse(Page({absl::StrCat("r", served)}, absl::StrCat("t", served)));
  }));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("past 3 pages"));
  EXPECT_EQ(pages.size(), 3u);
}

TEST_F(UsageClientTest, ExactlyMaxPagesSucceeds) {
  UsageClientOptions options;
  options.max_pages = 3;
  auto client = MakeClient(options);
  int served = 0;
  EXPECT_CALL(*transport_, Send(_)).Times(3).WillRepeatedly(Invoke([&served](const http::HttpRequest&) {
    ++served;
    return JsonResponse(served < 3 ? Page({"r"}, absl::StrCat("t", served)) : Page({"last"}));
  }));
  std::vector<std::vector<std::string>> pages;
  EXPECT_TRUE(List(*client, &pages).ok());
  EXPECT_EQ(pages.size(), 3u);
}

TEST_F(UsageClientTest, HttpErrorsCarryPartnerCenterDetails) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(
          JsonResponse(R"({"code": 900, "description": "The access token has expired", "source": "PartnerFD"})", 401)));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("HTTP 401"), HasSubstr("error code 900"), HasSubstr("The access token has expired"),
                    HasSubstr("MS-RequestId"), Not(HasSubstr("token-123"))));
  EXPECT_TRUE(pages.empty());
}

TEST_F(UsageClientTest, ErrorOnALaterPageKeepsEarlierPagesDelivered) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(JsonResponse(Page({"a"}, "t2"))))
      .WillRepeatedly(Return(absl::UnavailableError("connection reset by peer")));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("page 2"));
  EXPECT_THAT(pages, ElementsAre(ElementsAre("a")));
}

TEST_F(UsageClientTest, UnreadablePageIsInternalAndNamesTheField) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(JsonResponse(R"({"items": [{"resourceId": "a"}, {"totalCost": true}]})")));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("page 1 could not be read: items[1].totalCost"));
  EXPECT_TRUE(pages.empty());
}

TEST_F(UsageClientTest, NonJsonContentTypeIsInternal) {
  auto client = MakeClient();
  http::HttpResponse html = JsonResponse("<html>maintenance</html>");
  html.headers = {{"content-type", "text/html"}};
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(html));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("Content-Type text/html"));
}

TEST_F(UsageClientTest, ConsumerErrorStopsPaging) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(JsonResponse(Page({"a"}, "t2"))));
  absl::Status status = Drain(*client->ListUsageRecords(Call(), client->FirstPage()),
                              [](const FetchedPage&) { return absl::CancelledError("caller went away"); });
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST_F(UsageClientTest, PassedDeadlineSendsNoRequest) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  ListCall call = Call();
  call.deadline = sleeper_->Now() - absl::Seconds(1);
  absl::Status status = List(*client, &pages_, call);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(UsageClientTest, PageTimeoutNeverOutlastsTheDeadline) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([](const http::HttpRequest& request) {
    EXPECT_LE(request.timeout, absl::Seconds(10));
    EXPECT_GT(request.timeout, absl::ZeroDuration());
    return JsonResponse(Page({}));
  }));
  ListCall call = Call();
  call.deadline = sleeper_->Now() + absl::Seconds(10);
  EXPECT_TRUE(List(*client, &pages_, call).ok());
}

TEST_F(UsageClientTest, CancellationReachesTheTransportAndStopsPaging) {
  auto client = MakeClient();
  bool cancelled = false;
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([&cancelled](const http::HttpRequest& request) {
    EXPECT_TRUE(request.is_cancelled);
    cancelled = true;
    EXPECT_TRUE(request.is_cancelled());
    return JsonResponse(Page({"a"}, "t2"));
  }));
  ListCall call = Call();
  call.is_cancelled = [&cancelled] { return cancelled; };
  absl::Status status = List(*client, &pages_, call);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

http::HttpResponse Throttled(std::optional<std::string> retry_after, int message_seconds = 1) {
  http::HttpResponse response =
      JsonResponse(absl::StrCat(R"({"statusCode": 429, "message": "Rate limit is exceeded. Try again in )",
                                message_seconds, R"( seconds."})"),
                   429);
  if (retry_after.has_value()) response.headers.push_back({"retry-after", *retry_after});
  return response;
}

TEST_F(UsageClientTest, ServerErrorIsRetriedWithTheSameRequestId) {
  auto client = MakeClient();
  std::vector<std::string> request_ids;
  EXPECT_CALL(*transport_, Send(_)).Times(3).WillRepeatedly(Invoke([&request_ids](const http::HttpRequest& request) {
    request_ids.push_back(HeaderOf(request, "MS-RequestId").value_or(""));
    return request_ids.size() < 3 ? JsonResponse("", 503) : JsonResponse(Page({"a"}));
  }));
  std::vector<std::vector<std::string>> pages;
  ASSERT_TRUE(List(*client, &pages).ok());
  EXPECT_THAT(pages, ElementsAre(ElementsAre("a")));
  ASSERT_EQ(request_ids.size(), 3u);
  EXPECT_EQ(request_ids[0], request_ids[1]);
  EXPECT_EQ(request_ids[1], request_ids[2]);
  ASSERT_EQ(sleeper_->sleeps().size(), 2u);
  EXPECT_LE(sleeper_->sleeps()[0], absl::Milliseconds(500));  // full jitter under the first ceiling
  EXPECT_LE(sleeper_->sleeps()[1], absl::Seconds(1));
}

TEST_F(UsageClientTest, EachPageGetsItsOwnRequestIdAcrossRetries) {
  auto client = MakeClient();
  std::vector<std::string> request_ids;
  int calls = 0;
  EXPECT_CALL(*transport_, Send(_)).Times(3).WillRepeatedly(Invoke([&](const http::HttpRequest& request) {
    request_ids.push_back(HeaderOf(request, "MS-RequestId").value_or(""));
    ++calls;
    if (calls == 1) return JsonResponse(Page({"a"}, "t2"));
    if (calls == 2) return JsonResponse("", 502);
    return JsonResponse(Page({"b"}));
  }));
  std::vector<std::vector<std::string>> pages;
  ASSERT_TRUE(List(*client, &pages).ok());
  EXPECT_NE(request_ids[0], request_ids[1]);
  EXPECT_EQ(request_ids[1], request_ids[2]);
}

TEST_F(UsageClientTest, ThrottlingWaitsForRetryAfter) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(Throttled("7")))
      .WillOnce(Return(Throttled(std::nullopt, /*message_seconds=*/3)))
      .WillOnce(Return(Throttled(
          absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", sleeper_->Now() + absl::Seconds(20), absl::UTCTimeZone()))))
      .WillOnce(Return(JsonResponse(Page({"a"}))));
  std::vector<std::vector<std::string>> pages;
  ASSERT_TRUE(List(*client, &pages).ok());
  // Header seconds, then the body's "Try again in 3 seconds", then an HTTP date 20 s after the 7 + 3 already slept.
  EXPECT_THAT(sleeper_->sleeps(), ElementsAre(absl::Seconds(7), absl::Seconds(3), absl::Seconds(10)));
}

TEST_F(UsageClientTest, ThrottlingPastTheDeadlineEndsAtOnceWithRetryInfo) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(Throttled("30")));
  ListCall call = Call();
  call.deadline = sleeper_->Now() + absl::Seconds(10);
  absl::Status status = List(*client, &pages_, call);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("would pass the call's deadline"));
  EXPECT_TRUE(sleeper_->sleeps().empty());
  ASSERT_TRUE(GetRetryInfo(status).has_value());
  EXPECT_EQ(GetRetryInfo(status)->retry_delay().seconds(), 30);
  EXPECT_EQ(GetErrorInfo(status)->reason(), "PARTNER_CENTER_RATE_LIMITED");
  EXPECT_EQ(GetErrorInfo(status)->metadata().at("ms_correlation_id"), "aaaa0000-bb11-2222-33cc-444444dddddd");
}

TEST_F(UsageClientTest, BackoffPastTheDeadlineIsDeadlineExceeded) {
  UsageClientOptions options;
  options.retry.initial_backoff = absl::Seconds(100);
  options.retry.max_backoff = absl::Seconds(100);
  auto client = MakeClient(options);
  EXPECT_CALL(*transport_, Send(_)).WillRepeatedly(Return(JsonResponse("", 503)));
  ListCall call = Call();
  call.deadline = sleeper_->Now() + absl::Seconds(1);
  absl::Status status = List(*client, &pages_, call);
  // Unless the jitter drew (almost) zero, the wait would pass the deadline.
  if (sleeper_->sleeps().empty()) {
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
    EXPECT_EQ(GetErrorInfo(status)->reason(), "CALL_DEADLINE_EXCEEDED");
    EXPECT_THAT(std::string(status.message()), HasSubstr("HTTP 503"));
  }
}

TEST_F(UsageClientTest, PersistentServerErrorsGiveUpAfterMaxAttempts) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).Times(5).WillRepeatedly(Return(JsonResponse("", 503)));
  absl::Status status = List(*client, &pages_);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("gave up after 5 attempts"));
  EXPECT_EQ(sleeper_->sleeps().size(), 4u);
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "PARTNER_CENTER_UNAVAILABLE");
  EXPECT_EQ(info->metadata().at("attempts"), "5");
  EXPECT_EQ(info->metadata().at("http_status"), "503");
  EXPECT_TRUE(IsGuid(info->metadata().at("ms_request_id")));
}

TEST_F(UsageClientTest, PersistentThrottlingCarriesRetryInfo) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).Times(5).WillRepeatedly(Return(Throttled("2")));
  absl::Status status = List(*client, &pages_);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetRetryInfo(status)->retry_delay().seconds(), 2);
}

TEST_F(UsageClientTest, AnswersARetryCannotChangeAreNotRetried) {
  for (int http : {400, 401, 403, 404}) {
    auto client = MakeClient();
    EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(JsonResponse(R"({"code": 3000, "description": "no"})", http)));
    EXPECT_FALSE(List(*client, &pages_).ok()) << http;
    testing::Mock::VerifyAndClearExpectations(transport_.get());
  }
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(JsonResponse(R"({"items": [{"totalCost": "x"}]})")));
  EXPECT_EQ(List(*client, &pages_).code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(sleeper_->sleeps().empty());
}

TEST_F(UsageClientTest, ConnectionFailuresAndPageTimeoutsAreRetried) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(absl::UnavailableError("connection reset")))
      .WillOnce(Return(absl::DeadlineExceededError("timed out")))
      .WillOnce(Return(JsonResponse(Page({"a"}))));
  std::vector<std::vector<std::string>> pages;
  ASSERT_TRUE(List(*client, &pages).ok());
  EXPECT_EQ(sleeper_->sleeps().size(), 2u);
}

TEST_F(UsageClientTest, OversizedBodyIsNotRetried) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(absl::ResourceExhaustedError("body exceeded 1024 bytes")));
  absl::Status status = List(*client, &pages_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorInfo(status)->reason(), "PARTNER_CENTER_RESPONSE_TOO_LARGE");
}

TEST_F(UsageClientTest, CancellationDuringABackoffWaitEndsTheCall) {
  auto client = MakeClient();
  bool cancelled = false;
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([&cancelled](const http::HttpRequest&) {
    cancelled = true;  // the caller leaves while pcusage waits to retry
    return JsonResponse("", 503);
  }));
  ListCall call = Call();
  call.is_cancelled = [&cancelled] { return cancelled; };
  absl::Status status = List(*client, &pages_, call);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST_F(UsageClientTest, StartsAtAGivenPosition) {
  auto client = MakeClient();
  PagePosition position;
  position.url = "https://pc.example.test/v1/customers/usagerecords?seekOperation=Next";
  position.headers = {{"MS-ContinuationToken", "t5"}};
  position.page_number = 5;
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([](const http::HttpRequest& request) {
    EXPECT_EQ(request.url, "https://pc.example.test/v1/customers/usagerecords?seekOperation=Next");
    EXPECT_EQ(HeaderOf(request, "MS-ContinuationToken"), "t5");
    return JsonResponse(Page({"e"}));
  }));
  std::vector<int> page_numbers;
  ASSERT_TRUE(Drain(*client->ListUsageRecords(Call(), position), [&page_numbers](const FetchedPage& fetched) {
                page_numbers.push_back(fetched.position.page_number);
                return absl::OkStatus();
              }).ok());
  EXPECT_THAT(page_numbers, ElementsAre(5));
}

TEST_F(UsageClientTest, A401RenewsTheTokenOnceAndRetriesAtOnce) {
  auto client = MakeClient();
  std::vector<std::string> authorizations;
  EXPECT_CALL(*transport_, Send(_)).Times(3).WillRepeatedly(Invoke([&authorizations](const http::HttpRequest& request) {
    authorizations.push_back(HeaderOf(request, "Authorization").value_or(""));
    if (authorizations.size() == 1) return JsonResponse(Page({"a"}, "t2"));
    if (authorizations.size() == 2) return JsonResponse(R"({"code": 900, "description": "expired"})", 401);
    return JsonResponse(Page({"b"}));
  }));
  int renewals = 0;
  ListCall call = Call();
  call.renew_access_token = [&renewals](absl::string_view rejected) -> absl::StatusOr<std::string> {
    ++renewals;
    EXPECT_EQ(rejected, "token-123");
    return std::string("token-456");
  };
  std::vector<std::vector<std::string>> pages;
  ASSERT_TRUE(List(*client, &pages, call).ok());
  EXPECT_THAT(pages, ElementsAre(ElementsAre("a"), ElementsAre("b")));
  EXPECT_THAT(authorizations, ElementsAre("Bearer token-123", "Bearer token-123", "Bearer token-456"));
  EXPECT_EQ(renewals, 1);
  EXPECT_TRUE(sleeper_->sleeps().empty());
  EXPECT_TRUE(sleeper_->sleeps().empty());
}

TEST_F(UsageClientTest, ASecond401EndsTheCall) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).Times(2).WillRepeatedly(Return(JsonResponse("{}", 401)));
  int renewals = 0;
  ListCall call = Call();
  call.renew_access_token = [&renewals](absl::string_view) -> absl::StatusOr<std::string> {
    ++renewals;
    return std::string("token-456");
  };
  EXPECT_EQ(List(*client, &pages_, call).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(renewals, 1);
}

TEST_F(UsageClientTest, AFailedRenewalReportsWhy) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(JsonResponse("{}", 401)));
  ListCall call = Call();
  call.renew_access_token = [](absl::string_view) -> absl::StatusOr<std::string> {
    return absl::FailedPreconditionError("the refresh token must be renewed");
  };
  absl::Status status = List(*client, &pages_, call);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("must be renewed"));
}

TEST_F(UsageClientTest, ResolvesNextUrisAgainstTheApiRoot) {
  UsageClientOptions options;
  options.base_url = "http://127.0.0.1:8080/pc/";
  auto client = MakeClient(options);
  const std::pair<std::string, std::string> cases[] = {
      {"/v1/customers?size=40&seekOperation=Next", "http://127.0.0.1:8080/pc/v1/customers?size=40&seekOperation=Next"},
      {"/customers/usagerecords?seek=1", "http://127.0.0.1:8080/pc/v1/customers/usagerecords?seek=1"},
      {"customers/usagerecords", "http://127.0.0.1:8080/pc/v1/customers/usagerecords"},
      {"http://127.0.0.1:8080/pc/v1/customers/usagerecords?p=2",
       "http://127.0.0.1:8080/pc/v1/customers/usagerecords?p=2"},
      {"//127.0.0.1:8080/v1/x", "http://127.0.0.1:8080/v1/x"},
  };
  for (const auto& [uri, expected] : cases) {
    absl::StatusOr<std::string> resolved = client->ResolveNextUri(uri);
    ASSERT_TRUE(resolved.ok()) << uri << ": " << resolved.status();
    EXPECT_EQ(*resolved, expected) << uri;
  }
}

TEST_F(UsageClientTest, RefusesNextUrisThatLeaveTheApiHost) {
  auto client = MakeClient();
  for (const char* uri :
       {"https://evil.example/v1/customers", "http://pc.example.test/v1/x", "https://pc.example.test.evil.example/v1",
        "//evil.example/v1", "/v1/x y", "/v1/x\r\nInjected: 1"}) {
    absl::StatusOr<std::string> resolved = client->ResolveNextUri(uri);
    EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInternal) << uri;
  }
}

TEST_F(UsageClientTest, AnOversizedContinuationIsRefusedNotSentOrRetried) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(JsonResponse(Page({"a"}, std::string(1 << 20, 't')))));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("is not followed"));
  EXPECT_TRUE(pages.empty());  // like any unusable links.next, it fails the page that carries it
  EXPECT_TRUE(sleeper_->sleeps().empty());
}

TEST_F(UsageClientTest, NextLinkToAnotherHostIsNotFollowed) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(JsonResponse(
          R"({"items": [{"resourceId": "a"}], "links": {"next": {"uri": "https://collector.example/steal"}}})")));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("points away from https://pc.example.test"));
}

TEST(UsageClientCreateTest, RejectsUnusableBaseUrls) {
  auto transport = std::make_shared<http::MockHttpTransport>();
  for (const char* url :
       {"", "api.partnercenter.microsoft.com", "ftp://pc.example", "http://pc.example", "http://10.0.0.1:8080",
        "https://", "https:///v1", "https://pc.example?x=1", "https://user:pw@pc.example", "https://pc.example/a b"}) {
    UsageClientOptions options;
    options.base_url = url;
    EXPECT_EQ(UsageClient::Create(transport, options).status().code(), absl::StatusCode::kInvalidArgument) << url;
  }
  UsageClientOptions options;
  options.max_pages = 0;
  EXPECT_EQ(UsageClient::Create(transport, options).status().code(), absl::StatusCode::kInvalidArgument);
  options = UsageClientOptions{};
  options.locale = "en-US\r\nX-Injected: 1";
  EXPECT_EQ(UsageClient::Create(transport, options).status().code(), absl::StatusCode::kInvalidArgument);
  options = UsageClientOptions{};
  options.application_name = "";
  EXPECT_EQ(UsageClient::Create(transport, options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pcusage::partner_center
