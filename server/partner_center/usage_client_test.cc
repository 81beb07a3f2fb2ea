#include "server/partner_center/usage_client.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/guid.h"
#include "server/partner_center/mock_http_transport.h"

namespace pcusage::partner_center {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Not;
using ::testing::Return;

constexpr char kBase[] = "https://pc.example.test";

HttpResponse JsonResponse(std::string body, int status = 200) {
  HttpResponse response;
  response.status_code = status;
  response.headers = {{"content-type", "application/json; charset=utf-8"}};
  response.body = std::move(body);
  return response;
}

// A page of records named `ids`, linking to the page whose continuation token is `next_token` when non-empty.
std::string Page(const std::vector<std::string>& ids, const std::string& next_token = "") {
  std::string items;
  for (const std::string& id : ids) absl::StrAppend(&items, items.empty() ? "" : ",", R"({"resourceId": ")", id, "\"}");
  std::string links = R"("self": {"uri": "/customers/usagerecords"})";
  if (!next_token.empty()) {
    absl::StrAppend(&links, R"(, "next": {"uri": "/v1/customers/usagerecords?seekOperation=Next", "method": "GET",
        "headers": [{"key": "MS-ContinuationToken", "value": ")", next_token,
                    R"("}, {"key": "Authorization", "value": "Bearer stolen"}]})");
  }
  return absl::StrCat(R"({"totalCount": 99, "items": [)", items, R"(], "links": {)", links, "}}");
}

std::optional<std::string> HeaderOf(const HttpRequest& request, absl::string_view name) {
  std::optional<std::string> found;
  for (const HttpHeader& header : request.headers) {
    if (absl::EqualsIgnoreCase(header.name, name)) {
      EXPECT_FALSE(found.has_value()) << "header sent twice: " << name;
      found = header.value;
    }
  }
  return found;
}

class UsageClientTest : public testing::Test {
 protected:
  std::unique_ptr<UsageClient> MakeClient(UsageClientOptions options = {}) {
    if (options.base_url == UsageClientOptions{}.base_url) options.base_url = kBase;
    absl::StatusOr<std::unique_ptr<UsageClient>> client = UsageClient::Create(transport_, options);
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }

  ListCall Call() {
    ListCall call;
    call.access_token = "token-123";
    call.correlation_id = "aaaa0000-bb11-2222-33cc-444444dddddd";
    return call;
  }

  // Runs a call and collects the resource ids of the records delivered, page by page.
  absl::Status List(const UsageClient& client, std::vector<std::vector<std::string>>* pages) {
    return client.ListUsageRecords(Call(), [pages](UsageRecordsPage page) {
      std::vector<std::string> ids;
      for (const auto& record : page.records) ids.push_back(record.resource_id());
      pages->push_back(ids);
      return absl::OkStatus();
    });
  }

  std::shared_ptr<MockHttpTransport> transport_ = std::make_shared<MockHttpTransport>();
};

TEST_F(UsageClientTest, SendsPartnerCenterHeaders) {
  UsageClientOptions options;
  options.locale = "sv-SE";
  options.application_name = "billing-sync";
  auto client = MakeClient(options);
  EXPECT_CALL(*transport_, Get(_)).WillOnce(Invoke([](const HttpRequest& request) {
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
  std::vector<HttpRequest> requests;
  EXPECT_CALL(*transport_, Get(_))
      .Times(3)
      .WillRepeatedly(Invoke([&requests](const HttpRequest& request) {
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
  EXPECT_CALL(*transport_, Get(_))
      .Times(2)
      .WillRepeatedly(Invoke([](const HttpRequest& request) {
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
  EXPECT_CALL(*transport_, Get(_)).Times(3).WillRepeatedly(Invoke([&served](const HttpRequest&) {
    ++served;
    return JsonResponse(Page({absl::StrCat("r", served)}, absl::StrCat("t", served)));
  }));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("past 3 pages"));
  EXPECT_EQ(pages.size(), 3u);
}

TEST_F(UsageClientTest, HttpErrorsCarryPartnerCenterDetails) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Get(_)).WillOnce(Return(JsonResponse(
      R"({"code": 900, "description": "The access token has expired", "source": "PartnerFD"})", 401)));
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
  EXPECT_CALL(*transport_, Get(_))
      .WillOnce(Return(JsonResponse(Page({"a"}, "t2"))))
      .WillOnce(Return(absl::UnavailableError("connection reset by peer")));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("page 2"));
  EXPECT_THAT(pages, ElementsAre(ElementsAre("a")));
}

TEST_F(UsageClientTest, UnreadablePageIsInternalAndNamesTheField) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Get(_))
      .WillOnce(Return(JsonResponse(R"({"items": [{"resourceId": "a"}, {"totalCost": true}]})")));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("page 1 could not be read: items[1].totalCost"));
  EXPECT_TRUE(pages.empty());
}

TEST_F(UsageClientTest, NonJsonContentTypeIsInternal) {
  auto client = MakeClient();
  HttpResponse html = JsonResponse("<html>maintenance</html>");
  html.headers = {{"content-type", "text/html"}};
  EXPECT_CALL(*transport_, Get(_)).WillOnce(Return(html));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("Content-Type text/html"));
}

TEST_F(UsageClientTest, ConsumerErrorStopsPaging) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Get(_)).WillOnce(Return(JsonResponse(Page({"a"}, "t2"))));
  absl::Status status = client->ListUsageRecords(
      Call(), [](UsageRecordsPage) { return absl::CancelledError("caller went away"); });
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST_F(UsageClientTest, PassedDeadlineSendsNoRequest) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Get(_)).Times(0);
  ListCall call = Call();
  call.deadline = absl::Now() - absl::Seconds(1);
  absl::Status status = client->ListUsageRecords(call, [](UsageRecordsPage) { return absl::OkStatus(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(UsageClientTest, PageTimeoutNeverOutlastsTheDeadline) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Get(_)).WillOnce(Invoke([](const HttpRequest& request) {
    EXPECT_LE(request.timeout, absl::Seconds(10));
    EXPECT_GT(request.timeout, absl::ZeroDuration());
    return JsonResponse(Page({}));
  }));
  ListCall call = Call();
  call.deadline = absl::Now() + absl::Seconds(10);
  EXPECT_TRUE(client->ListUsageRecords(call, [](UsageRecordsPage) { return absl::OkStatus(); }).ok());
}

TEST_F(UsageClientTest, CancelledCallSendsNoRequestAndPassesTheCheckToTheTransport) {
  auto client = MakeClient();
  bool cancelled = false;
  EXPECT_CALL(*transport_, Get(_)).WillOnce(Invoke([&cancelled](const HttpRequest& request) {
    EXPECT_TRUE(request.is_cancelled);
    cancelled = true;
    EXPECT_TRUE(request.is_cancelled());
    return JsonResponse(Page({"a"}, "t2"));
  }));
  ListCall call = Call();
  call.is_cancelled = [&cancelled] { return cancelled; };
  absl::Status status = client->ListUsageRecords(call, [](UsageRecordsPage) { return absl::OkStatus(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST_F(UsageClientTest, ResolvesNextUrisAgainstTheApiRoot) {
  UsageClientOptions options;
  options.base_url = "http://127.0.0.1:8080/pc/";
  auto client = MakeClient(options);
  const std::pair<std::string, std::string> cases[] = {
      {"/v1/customers?size=40&seekOperation=Next", "http://127.0.0.1:8080/pc/v1/customers?size=40&seekOperation=Next"},
      {"/customers/usagerecords?seek=1", "http://127.0.0.1:8080/pc/v1/customers/usagerecords?seek=1"},
      {"customers/usagerecords", "http://127.0.0.1:8080/pc/v1/customers/usagerecords"},
      {"http://127.0.0.1:8080/pc/v1/customers/usagerecords?p=2", "http://127.0.0.1:8080/pc/v1/customers/usagerecords?p=2"},
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
  for (const char* uri : {"https://evil.example/v1/customers", "http://pc.example.test/v1/x",
                          "https://pc.example.test.evil.example/v1", "//evil.example/v1", "/v1/x y",
                          "/v1/x\r\nInjected: 1"}) {
    absl::StatusOr<std::string> resolved = client->ResolveNextUri(uri);
    EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInternal) << uri;
  }
}

TEST_F(UsageClientTest, NextLinkToAnotherHostIsNotFollowed) {
  auto client = MakeClient();
  EXPECT_CALL(*transport_, Get(_))
      .WillOnce(Return(JsonResponse(
          R"({"items": [{"resourceId": "a"}], "links": {"next": {"uri": "https://collector.example/steal"}}})")));
  std::vector<std::vector<std::string>> pages;
  absl::Status status = List(*client, &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("points away from https://pc.example.test"));
}

TEST(UsageClientCreateTest, RejectsUnusableBaseUrls) {
  auto transport = std::make_shared<MockHttpTransport>();
  for (const char* url : {"", "api.partnercenter.microsoft.com", "ftp://pc.example", "https://", "https:///v1",
                          "https://pc.example?x=1", "https://user:pw@pc.example", "https://pc.example/a b"}) {
    UsageClientOptions options;
    options.base_url = url;
    EXPECT_EQ(UsageClient::Create(transport, options).status().code(), absl::StatusCode::kInvalidArgument) << url;
  }
  UsageClientOptions options;
  options.max_pages = 0;
  EXPECT_EQ(UsageClient::Create(transport, options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pcusage::partner_center
