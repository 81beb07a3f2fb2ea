#include "server/partner_center/usage_stub.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
#include "server/http/mock_http_transport.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/http_responses.h"

namespace pcusage::partner_center {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;
using testing_util::JsonResponse;
using testing_util::RequestHeader;

class UsageStubTest : public ::testing::Test {
 protected:
  UsageStubTest() {
    request_.position.url = "https://pc.example.test/v1/customers/usagerecords?seekOperation=Next";
    request_.position.headers = {{"MS-ContinuationToken", "t3"}};
    request_.position.page_number = 3;
    request_.access_token = "token-123";
    request_.correlation_id = "aaaa0000-bb11-2222-33cc-444444dddddd";
    request_.request_id = "bbbb0000-bb11-2222-33cc-444444dddddd";
    request_.timeout = absl::Seconds(42);
  }

  http::Attempt<UsageRecordsPage> Fetch() { return stub_.FetchPage(request_); }

  static std::string Reason(const absl::Status& status) { return GetErrorInfo(status).value().reason(); }

  std::shared_ptr<http::MockHttpTransport> transport_ = std::make_shared<http::MockHttpTransport>();
  std::shared_ptr<testing_util::FakeSleeper> clock_ = std::make_shared<testing_util::FakeSleeper>();
  RestUsageStub stub_{transport_, PartnerCenterHeaders{"sv-SE", "billing-sync", "v1"}, clock_};
  PageRequest request_;
};

TEST_F(UsageStubTest, SendsOneRequestWithPartnerCentersHeadersAndTheContinuation) {
  bool cancelled = false;
  request_.is_cancelled = [&cancelled] { return cancelled; };
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([&cancelled](const http::HttpRequest& request) {
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.url, "https://pc.example.test/v1/customers/usagerecords?seekOperation=Next");
    EXPECT_EQ(request.timeout, absl::Seconds(42));
    EXPECT_EQ(RequestHeader(request, "Authorization"), "Bearer token-123");
    EXPECT_EQ(RequestHeader(request, "Accept"), "application/json");
    EXPECT_EQ(RequestHeader(request, "MS-RequestId"), "bbbb0000-bb11-2222-33cc-444444dddddd");
    EXPECT_EQ(request.echoed_header, "MS-RequestId");  // the transport retires a connection that answers another
    EXPECT_EQ(RequestHeader(request, "MS-CorrelationId"), "aaaa0000-bb11-2222-33cc-444444dddddd");
    EXPECT_EQ(RequestHeader(request, "MS-Contract-Version"), "v1");
    EXPECT_EQ(RequestHeader(request, "X-Locale"), "sv-SE");
    EXPECT_EQ(RequestHeader(request, "MS-PartnerCenter-Application"), "billing-sync");
    EXPECT_EQ(RequestHeader(request, "MS-ContinuationToken"), "t3");
    cancelled = true;
    EXPECT_TRUE(request.is_cancelled());
    return JsonResponse(testing_util::UsageRecordsPageJson({R"({"resourceId": "a"})"}, "t4"));
  }));
  http::Attempt<UsageRecordsPage> page = Fetch();
  ASSERT_TRUE(page.result.ok()) << page.result.status();
  ASSERT_EQ(page.result->records.size(), 1u);
  EXPECT_EQ(page.result->records[0].resource_id(), "a");
  EXPECT_EQ(page.result->total_count, 99);
  ASSERT_TRUE(page.result->next.has_value());  // raw: resolving it is the UsageClient's job
  EXPECT_EQ(page.result->next->uri, "/v1/customers/usagerecords?seekOperation=Next");
}

TEST_F(UsageStubTest, TransportFailuresAreClassifiedForTheRetryLoop) {
  struct Row {
    absl::Status transport;
    absl::StatusCode code;
    std::string reason;
    http::FailureKind kind;
  };
  const Row rows[] = {
      {absl::UnavailableError("connection refused"), absl::StatusCode::kUnavailable, "PARTNER_CENTER_UNREACHABLE",
       http::FailureKind::kConnection},
      {absl::DeadlineExceededError("timed out"), absl::StatusCode::kDeadlineExceeded, "PARTNER_CENTER_TIMEOUT",
       http::FailureKind::kTimeout},
      {absl::CancelledError("cancelled"), absl::StatusCode::kCancelled, "CALL_CANCELLED",
       http::FailureKind::kPermanent},
      {absl::FailedPreconditionError("TLS verification failed"), absl::StatusCode::kFailedPrecondition,
       "PARTNER_CENTER_TLS_FAILED", http::FailureKind::kPermanent},
      {absl::ResourceExhaustedError("body exceeded"), absl::StatusCode::kFailedPrecondition,
       "PARTNER_CENTER_RESPONSE_TOO_LARGE", http::FailureKind::kPermanent},
      {absl::InvalidArgumentError("bad URL"), absl::StatusCode::kInternal, "PARTNER_CENTER_BAD_RESPONSE",
       http::FailureKind::kPermanent},
  };
  for (const Row& row : rows) {
    EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(row.transport));
    http::Attempt<UsageRecordsPage> attempt = Fetch();
    const absl::Status& status = attempt.result.status();
    EXPECT_EQ(status.code(), row.code) << row.transport;
    EXPECT_EQ(Reason(status), row.reason) << row.transport;
    EXPECT_EQ(attempt.failure, row.kind) << row.transport;
    EXPECT_THAT(std::string(status.message()),
                AllOf(HasSubstr("requesting page 3 from Partner Center"), HasSubstr(row.transport.message()),
                      HasSubstr("MS-RequestId bbbb0000")));
    EXPECT_EQ(GetErrorInfo(status)->metadata().at("page"), "3");
    EXPECT_EQ(GetErrorInfo(status)->metadata().at("ms_request_id"), request_.request_id);
    testing::Mock::VerifyAndClearExpectations(transport_.get());
  }
}

TEST_F(UsageStubTest, HttpErrorsAreClassifiedByTheOneTable) {
  const std::pair<int, http::FailureKind> rows[] = {
      {500, http::FailureKind::kServerError}, {503, http::FailureKind::kServerError},
      {408, http::FailureKind::kTimeout},     {404, http::FailureKind::kPermanent},
      {401, http::FailureKind::kPermanent},   {400, http::FailureKind::kPermanent},
  };
  for (const auto& [http_status, kind] : rows) {
    EXPECT_CALL(*transport_, Send(_))
        .WillOnce(Return(JsonResponse(R"({"code": 3000, "description": "no usage"})", http_status)));
    http::Attempt<UsageRecordsPage> attempt = Fetch();
    EXPECT_EQ(attempt.failure, kind) << http_status;
    EXPECT_EQ(GetErrorInfo(attempt.result.status())->metadata().at("http_status"), absl::StrCat(http_status));
    EXPECT_EQ(GetErrorInfo(attempt.result.status())->metadata().at("page"), "3");
    EXPECT_THAT(std::string(attempt.result.status().message()), HasSubstr("error code 3000: no usage"));
    testing::Mock::VerifyAndClearExpectations(transport_.get());
  }
}

TEST_F(UsageStubTest, ThrottlingCarriesPartnerCentersWait) {
  http::HttpResponse header = JsonResponse(R"({"statusCode": 429, "message": "Rate limit is exceeded."})", 429);
  header.headers.push_back({"retry-after", "7"});
  http::HttpResponse body =
      JsonResponse(R"({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 3 seconds."})", 429);
  http::HttpResponse date = JsonResponse("{}", 429);
  date.headers.push_back({"retry-after", absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT",
                                                          clock_->Now() + absl::Seconds(20), absl::UTCTimeZone())});
  http::HttpResponse neither = JsonResponse("{}", 429);
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(header))
      .WillOnce(Return(body))
      .WillOnce(Return(date))
      .WillOnce(Return(neither));
  std::vector<std::optional<absl::Duration>> waits;
  for (int i = 0; i < 4; ++i) {
    http::Attempt<UsageRecordsPage> attempt = Fetch();
    EXPECT_EQ(attempt.failure, http::FailureKind::kThrottled);
    EXPECT_EQ(attempt.result.status().code(), absl::StatusCode::kResourceExhausted);
    waits.push_back(attempt.retry_after);
  }
  EXPECT_THAT(waits, ElementsAre(absl::Seconds(7), absl::Seconds(3), absl::Seconds(20), std::nullopt));
}

TEST_F(UsageStubTest, AnAnswerThatIsNotAPageIsPermanentAndNamesWhy) {
  http::HttpResponse html = JsonResponse("<html>maintenance</html>");
  html.headers = {{"content-type", "text/html"}};
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(html))
      .WillOnce(Return(JsonResponse(R"({"items": [{"resourceId": "a"}, {"totalCost": true}]})")))
      .WillOnce(Return(JsonResponse(R"({"code": 3000})")));
  for (const char* expected :
       {"with Content-Type text/html, not JSON", "page 3 could not be read: items[1].totalCost", "no \"items\""}) {
    http::Attempt<UsageRecordsPage> attempt = Fetch();
    EXPECT_EQ(attempt.result.status().code(), absl::StatusCode::kInternal);
    EXPECT_EQ(Reason(attempt.result.status()), "PARTNER_CENTER_BAD_RESPONSE");
    EXPECT_EQ(attempt.failure, http::FailureKind::kPermanent);
    EXPECT_THAT(std::string(attempt.result.status().message()), HasSubstr(expected));
  }
}

TEST_F(UsageStubTest, OnlyJsonMediaTypesAreRead) {
  const std::pair<const char*, bool> types[] = {
      {"application/json", true},
      {"application/json; charset=utf-8", true},
      {"Application/JSON", true},
      {"application/problem+json", true},
      {"text/html; x=notjson", false},
      {"text/json-ish", false},
      {"application/jsonp", false},
      {"json", false},
      {"", false},
  };
  for (const auto& [type, accepted] : types) {
    http::HttpResponse response = JsonResponse(testing_util::UsageRecordsPageJson({}));
    response.headers = {{"content-type", type}};
    EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(response));
    EXPECT_EQ(Fetch().result.ok(), accepted) << type;
    testing::Mock::VerifyAndClearExpectations(transport_.get());
  }
}

TEST_F(UsageStubTest, AnAnswerToAnotherRequestIsNeverDelivered) {
  http::HttpResponse stray = JsonResponse(testing_util::UsageRecordsPageJson({R"({"resourceId": "not-yours"})"}));
  stray.headers.push_back({"ms-requestid", "cccc0000-bb11-2222-33cc-444444dddddd"});
  http::HttpResponse echoed = JsonResponse(testing_util::UsageRecordsPageJson({R"({"resourceId": "yours"})"}));
  echoed.headers.push_back({"ms-requestid", "BBBB0000-BB11-2222-33CC-444444DDDDDD"});  // the same id, in capitals
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(stray)).WillOnce(Return(echoed));
  http::Attempt<UsageRecordsPage> attempt = Fetch();
  EXPECT_EQ(attempt.result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(attempt.failure, http::FailureKind::kConnection);
  EXPECT_THAT(std::string(attempt.result.status().message()), HasSubstr("names another request"));
  attempt = Fetch();
  ASSERT_TRUE(attempt.result.ok());
  EXPECT_EQ(attempt.result->records[0].resource_id(), "yours");
}

}  // namespace
}  // namespace pcusage::partner_center
