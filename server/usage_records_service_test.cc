#include "server/usage_records_service.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "partnercenter/usage/v1/usage_records.grpc.pb.h"
#include "server/batch_writer.h"
#include "server/common/guid.h"
#include "server/http/mock_http_transport.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/http_responses.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using http::HttpRequest;
using http::HttpResponse;
using http::MockHttpTransport;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;

using testing_util::JsonResponse;

google::protobuf::Duration Seconds(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Duration duration;
  duration.set_seconds(seconds);
  duration.set_nanos(nanos);
  return duration;
}

// A page with records "<prefix>0" .. "<prefix><count-1>", linking to `next_token` when non-empty.
std::string Page(const std::string& prefix, int count, const std::string& next_token = "") {
  std::vector<std::string> items;
  items.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    items.push_back(absl::StrCat(R"({"resourceId": ")", prefix, i, R"(", "totalCost": 1.10})"));
  }
  return testing_util::UsageRecordsPageJson(items, next_token, 1234);
}

std::optional<std::string> HeaderOf(const HttpRequest& request, absl::string_view name) {
  return testing_util::RequestHeader(request, name);
}

struct StreamResult {
  grpc::Status status;
  std::vector<v1::ListUsageRecordsResponse> messages;
  std::string correlation_id;

  std::vector<std::string> ResourceIds() const {
    std::vector<std::string> ids;
    for (const auto& message : messages) {
      for (const auto& record : message.usage_records()) ids.push_back(record.resource_id());
    }
    return ids;
  }
};

// The mock's actions run on the server's threads: after the test set its expectations and started the call, and
// before it reads what they captured once the call has ended. gRPC orders these, in ways ThreadSanitizer cannot see
// (tools/tsan); each call passes `order` as it starts and ends, and each Send as it starts and returns, which says so.
class CallOrderedTransport final : public http::HttpTransport {
 public:
  CallOrderedTransport(std::shared_ptr<http::HttpTransport> inner, absl::Mutex* order)
      : inner_(std::move(inner)), order_(order) {}

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    { absl::MutexLock taken(order_); }
    absl::StatusOr<HttpResponse> response = inner_->Send(request);
    absl::MutexLock passed(order_);
    return response;
  }

 private:
  const std::shared_ptr<http::HttpTransport> inner_;
  absl::Mutex* const order_;
};

class UsageRecordsServiceTest : public testing::Test {
 protected:
  // Retries happen at once (InstantSleeper): these tests are about the service, not the waits.
  void StartServer(
      std::shared_ptr<tokens::AccessTokenSource> token_source = std::make_shared<tokens::CallerTokenSource>(),
      absl::Duration max_call_duration = absl::Hours(1)) {
    partner_center::UsageClientOptions options;
    options.base_url = "https://pc.example.test";
    auto client = partner_center::UsageClient::Create(std::make_shared<CallOrderedTransport>(transport_, &call_order_),
                                                      options, std::make_shared<testing_util::InstantSleeper>());
    ASSERT_TRUE(client.ok()) << client.status();
    auto codec = ResumeTokenCodec::Create(std::string(32, 'k'), absl::Hours(1));
    ASSERT_TRUE(codec.ok()) << codec.status();
    auto callers = callers::CallerAuthenticator::Create(api_keys_file_, "");
    ASSERT_TRUE(callers.ok()) << callers.status();
    auto gate =
        std::make_shared<callers::CallGate>(*std::move(callers), max_concurrent_streams_, max_streams_per_caller_);
    UsageRecordsServiceOptions service_options;
    service_options.max_call_duration = max_call_duration;
    service_options.pages.snapshot_max_staleness = snapshot_max_staleness_;
    service_ = std::make_unique<UsageRecordsService>(*std::move(client), std::move(token_source), *std::move(codec),
                                                     std::move(gate), service_options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::UsageRecordsService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  StreamResult List(int page_size,
                    const std::vector<std::pair<std::string, std::string>>& metadata = {{"authorization",
                                                                                         "Bearer caller-token"}},
                    const std::string& resume_token = "",
                    std::optional<google::protobuf::Duration> max_staleness = std::nullopt) {
    v1::ListUsageRecordsRequest request;
    request.set_page_size(page_size);
    request.set_resume_token(resume_token);
    if (max_staleness.has_value()) *request.mutable_max_staleness() = *max_staleness;
    return Call(request, metadata);
  }

  StreamResult Call(const v1::ListUsageRecordsRequest& request,
                    const std::vector<std::pair<std::string, std::string>>& metadata = {
                        {"authorization", "Bearer caller-token"}}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
    { absl::MutexLock started(&call_order_); }
    auto reader = stub_->ListUsageRecords(&context, request);
    StreamResult result;
    v1::ListUsageRecordsResponse message;
    while (reader->Read(&message)) result.messages.push_back(message);
    result.status = reader->Finish();
    absl::MutexLock ended(&call_order_);
    auto it = context.GetServerInitialMetadata().find(kCorrelationIdMetadata);
    if (it != context.GetServerInitialMetadata().end()) {
      result.correlation_id = std::string(it->second.data(), it->second.size());
    }
    return result;
  }

  // Resuming after each message of `full` delivers exactly the records that followed it (from a shared snapshot,
  // when `from_shared_snapshot`).
  void ExpectEveryResumeTokenContinuesExactly(const StreamResult& full, bool from_shared_snapshot = false) {
    const std::vector<std::string> all = full.ResourceIds();
    std::size_t delivered = 0;
    for (const auto& message : full.messages) {
      ASSERT_FALSE(message.resume_token().empty());
      delivered += static_cast<std::size_t>(message.usage_records_size());
      StreamResult rest = List(3, {{"authorization", "Bearer caller-token"}}, message.resume_token());
      ASSERT_TRUE(rest.status.ok()) << rest.status.error_message();
      EXPECT_EQ(rest.ResourceIds(), std::vector<std::string>(all.begin() + delivered, all.end()));
      EXPECT_EQ(rest.messages[0].from_shared_snapshot(), from_shared_snapshot);
    }
  }

  std::shared_ptr<MockHttpTransport> transport_ = std::make_shared<MockHttpTransport>();
  absl::Mutex call_order_;     // CallOrderedTransport
  std::string api_keys_file_;  // none: every caller is let in
  int max_concurrent_streams_ = 100;
  int max_streams_per_caller_ = 0;
  absl::Duration snapshot_max_staleness_ = absl::ZeroDuration();  // sharing off unless a test turns it on
  std::unique_ptr<UsageRecordsService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::UsageRecordsService::Stub> stub_;
};

TEST_F(UsageRecordsServiceTest, StreamsEveryPageInBatchesOfPageSize) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(JsonResponse(Page("a", 5, "t2"))))
      .WillOnce(Return(JsonResponse(Page("b", 2))));
  StreamResult result = List(2);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_THAT(result.ResourceIds(), testing::ElementsAre("a0", "a1", "a2", "a3", "a4", "b0", "b1"));
  // 2+2+1 from page 1 and 2 from page 2, or, when page 2 was at hand as page 1 was written, 2+2+(1+1)+1.
  ASSERT_EQ(result.messages.size(), 4u);
  for (const auto& message : result.messages) EXPECT_LE(message.usage_records_size(), 2);
  EXPECT_TRUE(result.messages[0].has_partner_center_total_count());
  EXPECT_EQ(result.messages[0].partner_center_total_count(), 1234);
  EXPECT_FALSE(result.messages[1].has_partner_center_total_count());
  EXPECT_EQ(result.messages[3].usage_records(0).total_cost().value(), "1.10");
  EXPECT_TRUE(IsGuid(result.correlation_id)) << result.correlation_id;
}

TEST_F(UsageRecordsServiceTest, ACallWhoseDeadlinePassesBeforeTheFirstPageStillHasItsCorrelationId) {
  StartServer();
  // Shared: the handler may still be waking up from it when this test's body has ended.
  auto caller_gone = std::make_shared<absl::Notification>();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([caller_gone](const HttpRequest&) {
    caller_gone->WaitForNotificationWithTimeout(absl::Seconds(10));
    return JsonResponse(Page("a", 1));
  }));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  context.AddMetadata("authorization", "Bearer caller-token");
  v1::ListUsageRecordsRequest request;
  auto reader = stub_->ListUsageRecords(&context, request);
  v1::ListUsageRecordsResponse message;
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  caller_gone->Notify();
  const auto& metadata = context.GetServerInitialMetadata();
  const auto it = metadata.find(kCorrelationIdMetadata);
  ASSERT_NE(it, metadata.end()) << "sent before the first page, not with it";
  EXPECT_TRUE(IsGuid(std::string(it->second.data(), it->second.size())));
}

TEST_F(UsageRecordsServiceTest, GeneratedCorrelationIdIsTheOneSentUpstream) {
  StartServer();
  std::string upstream;
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([&upstream](const HttpRequest& request) {
    upstream = HeaderOf(request, "MS-CorrelationId").value_or("");
    return JsonResponse(Page("a", 1));
  }));
  StreamResult result = List(10);
  ASSERT_TRUE(result.status.ok());
  EXPECT_EQ(result.correlation_id, upstream);
}

TEST_F(UsageRecordsServiceTest, PageSizeDefaultsAndIsCappedAtTheMaximum) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).WillRepeatedly(Return(JsonResponse(Page("r", 1250))));
  StreamResult capped = List(5000);
  ASSERT_TRUE(capped.status.ok()) << capped.status.error_message();
  ASSERT_EQ(capped.messages.size(), 3u);
  EXPECT_EQ(capped.messages[0].usage_records_size(), kFirstMessageMaxRecords);  // a quick first record
  EXPECT_EQ(capped.messages[1].usage_records_size(), kMaxBatchSize);
  EXPECT_EQ(capped.messages[2].usage_records_size(), 1250 - kMaxBatchSize - kFirstMessageMaxRecords);

  StreamResult by_default = List(0);
  ASSERT_TRUE(by_default.status.ok());
  EXPECT_EQ(by_default.messages.size(), 13u);
  EXPECT_EQ(by_default.messages[0].usage_records_size(), kDefaultBatchSize);
  EXPECT_EQ(by_default.ResourceIds().size(), 1250u);
}

TEST_F(UsageRecordsServiceTest, NegativePageSizeIsInvalid) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  StreamResult result = List(-1);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(result.status.error_message(), HasSubstr("page_size"));
}

TEST_F(UsageRecordsServiceTest, EmptyCollectionSendsOneMessageWithTheTotalCount) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(JsonResponse(R"({"totalCount": 25, "items": []})")));
  StreamResult result = List(10);
  ASSERT_TRUE(result.status.ok());
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].usage_records_size(), 0);
  EXPECT_EQ(result.messages[0].partner_center_total_count(), 25);
}

TEST_F(UsageRecordsServiceTest, CallerTokenAndCorrelationIdGoUpstream) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([](const HttpRequest& request) {
    EXPECT_EQ(HeaderOf(request, "Authorization"), "Bearer caller-token");
    EXPECT_EQ(HeaderOf(request, "MS-CorrelationId"), "aaaa0000-bb11-2222-33cc-444444dddddd");
    return JsonResponse(Page("a", 1));
  }));
  StreamResult result = List(
      10, {{"authorization", "Bearer caller-token"}, {"x-ms-correlation-id", "aaaa0000-bb11-2222-33cc-444444dddddd"}});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.correlation_id, "aaaa0000-bb11-2222-33cc-444444dddddd");
}

TEST_F(UsageRecordsServiceTest, MalformedCorrelationIdIsInvalid) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  StreamResult result = List(10, {{"authorization", "Bearer t"}, {"x-ms-correlation-id", "not-a-guid"}});
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(result.status.error_message(), HasSubstr("x-ms-correlation-id"));
}

TEST_F(UsageRecordsServiceTest, MissingOrMalformedCallerTokenIsUnauthenticated) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  for (const auto& metadata : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {}, {{"authorization", "Basic dXNlcjpwdw=="}}, {{"authorization", "Bearer "}}}) {
    StreamResult result = List(10, metadata);
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_TRUE(result.messages.empty());
  }
}

TEST_F(UsageRecordsServiceTest, ServerTokenSourceWinsOverTheCaller) {
  class FixedToken : public tokens::AccessTokenSource {
    absl::StatusOr<std::string> TokenForCall(std::optional<absl::string_view>, absl::Time) override {
      return "server-token";
    }
  };
  StartServer(std::make_shared<FixedToken>());
  EXPECT_CALL(*transport_, Send(_)).Times(2).WillRepeatedly(Invoke([](const HttpRequest& request) {
    EXPECT_EQ(HeaderOf(request, "Authorization"), "Bearer server-token");
    return JsonResponse(Page("a", 1));
  }));
  EXPECT_TRUE(List(10, {}).status.ok());
  EXPECT_TRUE(List(10, {{"authorization", "Bearer caller-token"}}).status.ok());
}

TEST_F(UsageRecordsServiceTest, UpstreamForbiddenIsPermissionDeniedWithPartnerCentersDescription) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(JsonResponse(R"({"code": 600, "description": "Partner is not authorized"})", 403)));
  StreamResult result = List(10);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(result.status.error_message(), HasSubstr("Partner is not authorized"));
  EXPECT_THAT(result.status.error_message(), testing::Not(HasSubstr("caller-token")));
}

TEST_F(UsageRecordsServiceTest, FailureOnALaterPageKeepsTheRecordsAlreadySent) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(JsonResponse(Page("a", 3, "t2"))))
      .WillRepeatedly(Return(JsonResponse("", 503)));
  StreamResult result = List(10);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(result.ResourceIds(), testing::ElementsAre("a0", "a1", "a2"));
}

// The status's error detail of type `Detail`; empty, with a failure added, when it carries none.
template <typename Detail>
Detail DetailOf(const grpc::Status& status) {
  google::rpc::Status details;
  EXPECT_TRUE(details.ParseFromString(status.error_details()));
  Detail detail;
  for (const auto& any : details.details()) {
    if (any.UnpackTo(&detail)) return detail;
  }
  ADD_FAILURE() << "no " << Detail::descriptor()->full_name() << " in " << status.error_message();
  return detail;
}

google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) { return DetailOf<google::rpc::ErrorInfo>(status); }
google::rpc::BadRequest BadRequestOf(const grpc::Status& status) { return DetailOf<google::rpc::BadRequest>(status); }

TEST_F(UsageRecordsServiceTest, StreamsPastTheLimitAreRefusedWithRetryInfoUntilOneEnds) {
  max_concurrent_streams_ = 1;
  StartServer();
  absl::Notification upstream_entered;
  absl::Notification release_upstream;
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Invoke([&](const HttpRequest&) {
        upstream_entered.Notify();
        release_upstream.WaitForNotification();
        return JsonResponse(Page("a", 2));
      }))
      .WillOnce(Return(JsonResponse(Page("b", 1))));
  StreamResult first;
  std::thread holder([this, &first] { first = List(10); });
  upstream_entered.WaitForNotification();  // the first stream holds the only slot

  StreamResult refused = List(10);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ErrorInfoOf(refused.status).reason(), "STREAM_LIMIT_REACHED");
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(refused.status.error_details()));
  google::rpc::RetryInfo retry;
  EXPECT_TRUE(std::any_of(details.details().begin(), details.details().end(),
                          [&retry](const google::protobuf::Any& detail) { return detail.UnpackTo(&retry); }));
  EXPECT_EQ(retry.retry_delay().seconds(), 1);
  EXPECT_FALSE(refused.correlation_id.empty());  // refused at the edge, still with its correlation id

  release_upstream.Notify();
  holder.join();
  EXPECT_TRUE(first.status.ok()) << first.status.error_message();
  StreamResult after = List(10);  // the slot is back
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_THAT(after.ResourceIds(), testing::ElementsAre("b0"));
}

TEST_F(UsageRecordsServiceTest, ACallerPastItsOwnStreamLimitIsRefusedWhileOthersGetIn) {
  api_keys_file_ = std::string(std::getenv("TEST_TMPDIR")) + "/api_keys_per_caller";
  std::ofstream(api_keys_file_) << callers::CallerAuthenticator::HashLine("alice", "alice-key-0001").value() << "\n"
                                << callers::CallerAuthenticator::HashLine("bob", "bob-key-00002").value() << "\n";
  max_streams_per_caller_ = 1;
  StartServer();
  absl::Notification upstream_entered;
  absl::Notification release_upstream;
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Invoke([&](const HttpRequest&) {
        upstream_entered.Notify();
        release_upstream.WaitForNotification();
        return JsonResponse(Page("a", 1));
      }))
      .WillRepeatedly(Return(JsonResponse(Page("b", 1))));
  const std::vector<std::pair<std::string, std::string>> alice = {{"authorization", "Bearer t"},
                                                                  {"x-api-key", "alice-key-0001"}};
  StreamResult first;
  std::thread holder([&] { first = List(10, alice); });
  upstream_entered.WaitForNotification();  // alice holds her only stream

  StreamResult refused = List(10, alice);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ErrorInfoOf(refused.status).reason(), "CALLER_STREAM_LIMIT_REACHED");
  EXPECT_TRUE(List(10, {{"authorization", "Bearer t"}, {"x-api-key", "bob-key-00002"}}).status.ok())
      << "another caller still gets in";

  release_upstream.Notify();
  holder.join();
  EXPECT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_TRUE(List(10, alice).status.ok()) << "her stream is back once the first ended";
}

TEST_F(UsageRecordsServiceTest, WithApiKeysOnlyCallersPresentingOneGetIn) {
  api_keys_file_ = std::string(std::getenv("TEST_TMPDIR")) + "/api_keys";
  std::ofstream(api_keys_file_) << callers::CallerAuthenticator::HashLine("billing", "k-123").value() << "\n";
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(JsonResponse(Page("a", 1))));
  StreamResult denied = List(10, {{"authorization", "Bearer t"}, {"x-api-key", "wrong"}});
  EXPECT_EQ(denied.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ErrorInfoOf(denied.status).reason(), "CALLER_UNAUTHENTICATED");
  EXPECT_EQ(List(10, {{"authorization", "Bearer t"}}).status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(List(10, {{"authorization", "Bearer t"}, {"x-api-key", "k-123"}}).status.ok());
}

TEST_F(UsageRecordsServiceTest, MaxCallDurationEndsACallWhoseCallerStoppedReading) {
  // Long enough for the page to be parsed and the handler to be blocked in Write when the limit strikes.
  StartServer(std::make_shared<tokens::CallerTokenSource>(), absl::Seconds(3));
  // 40 MB of records, far more than gRPC's flow-control windows hold: the handler blocks in Write until someone
  // cancels it.
  std::string items;
  const std::string long_name(2000, 'n');
  for (int i = 0; i < 20000; ++i) {
    absl::StrAppend(&items, i ? "," : "", R"({"resourceId": "r)", i, R"(", "resourceName": ")", long_name, "\"}");
  }
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(JsonResponse(absl::StrCat(R"({"items": [)", items, "]}"))));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer caller-token");
  v1::ListUsageRecordsRequest request;
  request.set_page_size(1000);
  auto reader = stub_->ListUsageRecords(&context, request);
  absl::SleepFor(absl::Seconds(6));  // not reading
  v1::ListUsageRecordsResponse message;
  int records = 0;
  while (reader->Read(&message)) records += message.usage_records_size();
  // Without the limit the handler would still be waiting in Write, and would now deliver everything.
  const grpc::Status status = reader->Finish();
  EXPECT_FALSE(status.ok());
  EXPECT_LT(records, 20000);
}

TEST_F(UsageRecordsServiceTest, NoTokenIsFetchedForARequestThatIsRefusedAnyway) {
  class CountingTokens : public tokens::AccessTokenSource {
   public:
    absl::StatusOr<std::string> TokenForCall(std::optional<absl::string_view>, absl::Time) override {
      ++calls;
      return std::string("t");
    }
    int calls = 0;
  };
  auto tokens = std::make_shared<CountingTokens>();
  StartServer(tokens);
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  EXPECT_EQ(List(-1).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(List(10, {}, "v1.not.valid").status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(tokens->calls, 0);
}

TEST_F(UsageRecordsServiceTest, AResumeTokenBelongsToTheCallerItWasIssuedTo) {
  api_keys_file_ = std::string(std::getenv("TEST_TMPDIR")) + "/api_keys_two";
  std::ofstream(api_keys_file_) << callers::CallerAuthenticator::HashLine("alice", "alice-key-0001").value() << "\n"
                                << callers::CallerAuthenticator::HashLine("bob", "bob-key-00002").value() << "\n";
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).WillRepeatedly(Return(JsonResponse(Page("a", 5))));
  StreamResult alice = List(2, {{"authorization", "Bearer t"}, {"x-api-key", "alice-key-0001"}});
  ASSERT_TRUE(alice.status.ok()) << alice.status.error_message();
  const std::string token = alice.messages[0].resume_token();
  StreamResult bob = List(2, {{"authorization", "Bearer t"}, {"x-api-key", "bob-key-00002"}}, token);
  EXPECT_EQ(bob.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(bob.status).reason(), "RESUME_TOKEN_INVALID");
  ASSERT_EQ(BadRequestOf(bob.status).field_violations_size(), 1);
  EXPECT_EQ(BadRequestOf(bob.status).field_violations(0).field(), "resume_token");
  StreamResult again = List(2, {{"authorization", "Bearer t"}, {"x-api-key", "alice-key-0001"}}, token);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.ResourceIds().size(), 3u);
}

TEST_F(UsageRecordsServiceTest, ErrorsCarryErrorInfoWithTheCorrelationId) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(JsonResponse(R"({"code": 3000, "description": "x"})", 404)));
  StreamResult result =
      List(10, {{"authorization", "Bearer t"}, {"x-ms-correlation-id", "aaaa0000-bb11-2222-33cc-444444dddddd"}});
  ASSERT_EQ(result.status.error_code(), grpc::StatusCode::NOT_FOUND);
  google::rpc::ErrorInfo info = ErrorInfoOf(result.status);
  EXPECT_EQ(info.reason(), "PARTNER_CENTER_NOT_FOUND");
  EXPECT_EQ(info.domain(), "pcusage");
  EXPECT_EQ(info.metadata().at("partner_center_error_code"), "3000");
  EXPECT_EQ(info.metadata().at("ms_correlation_id"), "aaaa0000-bb11-2222-33cc-444444dddddd");

  StreamResult bad_size = List(-5);
  EXPECT_EQ(ErrorInfoOf(bad_size.status).reason(), "INVALID_ARGUMENT");
  EXPECT_EQ(ErrorInfoOf(bad_size.status).metadata().at("field"), "page_size");
  EXPECT_TRUE(IsGuid(ErrorInfoOf(bad_size.status).metadata().at("ms_correlation_id")));
}

TEST_F(UsageRecordsServiceTest, EveryMessageCarriesAResumeTokenThatContinuesExactlyAfterIt) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).WillRepeatedly(Invoke([](const HttpRequest& request) {
    return HeaderOf(request, "MS-ContinuationToken") == "t2" ? JsonResponse(Page("b", 4))
                                                             : JsonResponse(Page("a", 5, "t2"));
  }));
  StreamResult full = List(2);
  ASSERT_TRUE(full.status.ok());
  ASSERT_EQ(full.ResourceIds().size(), 9u);
  ExpectEveryResumeTokenContinuesExactly(full);
}

TEST_F(UsageRecordsServiceTest, BadResumeTokensAreRejectedBeforeCallingPartnerCenter) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  StreamResult result = List(10, {{"authorization", "Bearer t"}}, "v1.bm90.c2lnbmVk");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(result.status).reason(), "RESUME_TOKEN_INVALID");

  auto other_server = ResumeTokenCodec::Create(std::string(32, 'o'), absl::Hours(1));
  StreamPosition position;
  position.page.url = "https://pc.example.test/v1/customers/usagerecords";
  result = List(10, {{"authorization", "Bearer t"}}, (*other_server)->Encode(position, absl::Now()));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Sends `request_bytes` as the serialized request, as a client of another language (or a hostile one) may.
StreamResult ListRaw(grpc::Channel& channel, const std::string& request_bytes) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  context.AddMetadata("authorization", "Bearer t");
  grpc::Slice slice(request_bytes);
  const grpc::ByteBuffer request(&slice, 1);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
          &channel, grpc::internal::RpcMethod(kListUsageRecordsMethod, grpc::internal::RpcMethod::SERVER_STREAMING),
          &context, request));
  StreamResult result;
  grpc::ByteBuffer message;
  while (reader->Read(&message)) result.messages.emplace_back();
  result.status = reader->Finish();
  return result;
}

TEST_F(UsageRecordsServiceTest, AResumeTokenThatIsNotUtf8IsAnInvalidResumeToken) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  // page_size 10, then resume_token (field 2, a proto3 string) holding bytes that are not UTF-8.
  const std::string not_utf8 = std::string("\x08\x0a", 2) + std::string("\x12\x04v1.\xff", 6);
  StreamResult result = ListRaw(*channel_, not_utf8);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << result.status.error_message();
  EXPECT_EQ(ErrorInfoOf(result.status).reason(), "RESUME_TOKEN_INVALID");
  EXPECT_THAT(result.status.error_message(), HasSubstr("resume_token"));

  // Bytes that are no request at all (a field 3 that is not a Duration) are an invalid argument too.
  StreamResult garbage = ListRaw(*channel_, std::string("\x1a\x02\xff\xff", 4));
  EXPECT_EQ(garbage.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << garbage.status.error_message();
  EXPECT_EQ(ErrorInfoOf(garbage.status).reason(), "INVALID_ARGUMENT");
}

TEST_F(UsageRecordsServiceTest, AResumeTokensHeadersNeverReplaceTheRequestsOwn) {
  StartServer();
  std::vector<HttpRequest> sent;
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Invoke([&sent](const HttpRequest& request) {
    sent.push_back(request);
    return JsonResponse(Page("b", 2));
  }));
  // Signed with the server's key (as by someone who has it): the headers ask for another host and credentials.
  auto codec = ResumeTokenCodec::Create(std::string(32, 'k'), absl::Hours(1));
  StreamPosition forged;
  forged.page.url = "https://pc.example.test/v1/customers/usagerecords";
  forged.page.page_number = 2;
  forged.page.headers = {{"Host", "attacker.example"},
                         {"authorization", "Bearer attacker-token"},
                         {"MS-RequestId", "aaaa0000-bb11-2222-33cc-444444dddddd"},
                         {"Content-Length", "0"},
                         {"Transfer-Encoding", "chunked"},
                         {"MS-ContinuationToken", "t2"}};
  StreamResult result = List(10, {{"authorization", "Bearer caller-token"}}, (*codec)->Encode(forged, absl::Now()));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(sent.size(), 1u);
  std::vector<std::string> names;
  for (const http::HttpHeader& header : sent[0].headers) names.push_back(absl::AsciiStrToLower(header.name));
  for (const char* reserved : {"host", "authorization", "ms-requestid", "content-length", "transfer-encoding"}) {
    EXPECT_LE(std::count(names.begin(), names.end(), reserved), 1) << reserved;
  }
  EXPECT_EQ(std::count(names.begin(), names.end(), "host"), 0);
  EXPECT_EQ(HeaderOf(sent[0], "Authorization"), "Bearer caller-token");
  EXPECT_NE(HeaderOf(sent[0], "MS-RequestId"), "aaaa0000-bb11-2222-33cc-444444dddddd");
  EXPECT_EQ(HeaderOf(sent[0], "MS-ContinuationToken"), "t2");  // the continuation itself still goes
}

TEST_F(UsageRecordsServiceTest, ResumingIntoAPageThatChangedIsAFailedPrecondition) {
  StartServer();
  int calls = 0;
  EXPECT_CALL(*transport_, Send(_)).WillRepeatedly(Invoke([&calls](const HttpRequest&) {
    return JsonResponse(Page(++calls == 1 ? "a" : "z", 5));
  }));
  StreamResult first = List(2);
  ASSERT_TRUE(first.status.ok());
  StreamResult resumed = List(2, {{"authorization", "Bearer caller-token"}}, first.messages[0].resume_token());
  EXPECT_EQ(resumed.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(resumed.messages.empty());
  EXPECT_EQ(ErrorInfoOf(resumed.status).reason(), "RESUME_TOKEN_EXPIRED");
}

TEST_F(UsageRecordsServiceTest, InvalidArgumentsNameTheFieldInABadRequest) {
  StartServer();
  for (const auto& [result, field] :
       {std::pair<StreamResult, std::string>{List(-5), "page_size"},
        {List(10, {{"authorization", "Bearer t"}, {"x-ms-correlation-id", "nope"}}), "x-ms-correlation-id"},
        {List(10, {{"authorization", "Bearer t"}}, "v1.not.valid"), "resume_token"},
        {List(10, {{"authorization", "Bearer t"}}, "", Seconds(-1)), "max_staleness"},
        {List(10, {{"authorization", "Bearer t"}}, "", Seconds(0, 1000000000)), "max_staleness"}}) {
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    google::rpc::Status details;
    ASSERT_TRUE(details.ParseFromString(result.status.error_details()));
    google::rpc::BadRequest bad_request;
    bool found = false;
    for (const auto& detail : details.details()) found = found || detail.UnpackTo(&bad_request);
    ASSERT_TRUE(found) << field;
    ASSERT_EQ(bad_request.field_violations_size(), 1) << field;
    EXPECT_EQ(bad_request.field_violations(0).field(), field);
    EXPECT_FALSE(bad_request.field_violations(0).description().empty());
  }
}

TEST_F(UsageRecordsServiceTest, AResumeTokenForAnotherPartnerCenterUrlNamesTheFieldInABadRequest) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  auto codec = ResumeTokenCodec::Create(std::string(32, 'k'), absl::Hours(1));  // this server's key
  ASSERT_TRUE(codec.ok());
  StreamPosition elsewhere;
  elsewhere.page.url = "https://other.example.test/v1/customers/usagerecords";
  StreamResult result = List(2, {{"authorization", "Bearer t"}}, (*codec)->Encode(elsewhere, absl::Now()));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(result.status).reason(), "RESUME_TOKEN_INVALID");
  const google::rpc::BadRequest bad_request = BadRequestOf(result.status);
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "resume_token");
  EXPECT_THAT(bad_request.field_violations(0).description(), HasSubstr("another Partner Center URL"));
}

TEST_F(UsageRecordsServiceTest, WithSharingOnACallWithinMaxStalenessAsksPartnerCenterNothing) {
  snapshot_max_staleness_ = absl::Minutes(5);
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).Times(4).WillRepeatedly(Invoke([](const HttpRequest& request) {
    return HeaderOf(request, "MS-ContinuationToken") == "t2" ? JsonResponse(Page("b", 2))
                                                             : JsonResponse(Page("a", 3, "t2"));
  }));
  StreamResult first = List(2);
  StreamResult second = List(10);
  StreamResult fresh = List(10, {{"authorization", "Bearer caller-token"}}, "", Seconds(0));
  for (const StreamResult* result : {&first, &second, &fresh}) {
    ASSERT_TRUE(result->status.ok()) << result->status.error_message();
    EXPECT_THAT(result->ResourceIds(), testing::ElementsAre("a0", "a1", "a2", "b0", "b1"));
    EXPECT_TRUE(result->messages[0].has_snapshot_time());
    // From the held snapshot the correlation id goes out with the first message, not on its own: still there.
    EXPECT_TRUE(IsGuid(result->correlation_id)) << result->correlation_id;
  }
  EXPECT_FALSE(first.messages[0].from_shared_snapshot());
  EXPECT_TRUE(second.messages[0].from_shared_snapshot());
  EXPECT_FALSE(fresh.messages[0].from_shared_snapshot());
  EXPECT_EQ(second.messages[0].snapshot_time().SerializeAsString(),
            first.messages[0].snapshot_time().SerializeAsString());
  for (std::size_t i = 1; i < first.messages.size(); ++i) EXPECT_FALSE(first.messages[i].has_snapshot_time());
}

TEST_F(UsageRecordsServiceTest, ResumeTokensOfASharedStreamContinueInsideTheSnapshot) {
  snapshot_max_staleness_ = absl::Minutes(5);
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).Times(2).WillRepeatedly(Invoke([](const HttpRequest& request) {
    return HeaderOf(request, "MS-ContinuationToken") == "t2" ? JsonResponse(Page("b", 4))
                                                             : JsonResponse(Page("a", 5, "t2"));
  }));
  StreamResult full = List(2);
  ASSERT_TRUE(full.status.ok());
  ASSERT_EQ(full.ResourceIds().size(), 9u);
  ExpectEveryResumeTokenContinuesExactly(full, /*from_shared_snapshot=*/true);
}

TEST_F(UsageRecordsServiceTest, PassthroughCallersWithAnotherTokenGetAWalkOfTheirOwn) {
  snapshot_max_staleness_ = absl::Minutes(5);
  StartServer();
  std::vector<std::string> tokens_seen;
  EXPECT_CALL(*transport_, Send(_)).Times(2).WillRepeatedly(Invoke([&tokens_seen](const HttpRequest& request) {
    tokens_seen.push_back(HeaderOf(request, "Authorization").value_or(""));
    return JsonResponse(Page("a", 1));
  }));
  EXPECT_TRUE(List(10, {{"authorization", "Bearer token-one"}}).status.ok());
  EXPECT_TRUE(List(10, {{"authorization", "Bearer token-two"}}).status.ok());
  EXPECT_TRUE(List(10, {{"authorization", "Bearer token-one"}}).status.ok());
  EXPECT_THAT(tokens_seen, testing::ElementsAre("Bearer token-one", "Bearer token-two"));
}

// Customers of several currencies, percentages and budgets: "<prefix><i>" in EUR at i * 10 percent of a budget for
// even i, in SEK without a budget for odd i.
std::string MixedPage(const std::string& prefix, int count, const std::string& next_token = "") {
  std::vector<std::string> items;
  items.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    items.push_back(i % 2 == 0 ? absl::StrCat(R"({"resourceId": ")", prefix, i,
                                              R"(", "currencyCode": "EUR", "budget": {"amount": 100}, "percentUsed": )",
                                              i * 10, "}")
                               : absl::StrCat(R"({"resourceId": ")", prefix, i,
                                              R"(", "currencyCode": "SEK", "budget": {}, "percentUsed": 0})"));
  }
  return testing_util::UsageRecordsPageJson(items, next_token, 1234);
}

TEST_F(UsageRecordsServiceTest, FiltersChooseTheRecordsSentAndTheirResumeTokensContinueTheFilteredList) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).WillRepeatedly(Invoke([](const HttpRequest& request) {
    return HeaderOf(request, "MS-ContinuationToken") == "t2" ? JsonResponse(MixedPage("b", 6))
                                                             : JsonResponse(MixedPage("a", 7, "t2"));
  }));
  v1::ListUsageRecordsRequest request;
  request.set_page_size(2);
  request.add_currency_codes("eur");
  request.mutable_min_percent_used()->set_value("20.0");
  request.set_only_with_budget(true);
  const StreamResult filtered = Call(request);
  ASSERT_TRUE(filtered.status.ok()) << filtered.status.error_message();
  EXPECT_THAT(filtered.ResourceIds(), testing::ElementsAre("a2", "a4", "a6", "b2", "b4"));
  EXPECT_EQ(filtered.messages[0].partner_center_total_count(), 1234);
  const std::vector<std::string> all = filtered.ResourceIds();
  std::size_t delivered = 0;
  for (const auto& message : filtered.messages) {
    delivered += static_cast<std::size_t>(message.usage_records_size());
    v1::ListUsageRecordsRequest rest_request = request;
    rest_request.set_resume_token(message.resume_token());
    const StreamResult rest = Call(rest_request);
    ASSERT_TRUE(rest.status.ok()) << rest.status.error_message();
    EXPECT_EQ(rest.ResourceIds(), std::vector<std::string>(all.begin() + delivered, all.end()));
  }
}

TEST_F(UsageRecordsServiceTest, InvalidFiltersNameTheFieldInABadRequestBeforeCallingPartnerCenter) {
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  v1::ListUsageRecordsRequest bad_id;
  bad_id.add_customer_ids("not-a-guid");
  v1::ListUsageRecordsRequest bad_currency;
  bad_currency.add_currency_codes("EUR");
  bad_currency.add_currency_codes("euro");
  v1::ListUsageRecordsRequest bad_percent;
  bad_percent.mutable_min_percent_used()->set_value("80%");
  for (const auto& [request, field] : {std::pair<v1::ListUsageRecordsRequest, std::string>{bad_id, "customer_ids[0]"},
                                       {bad_currency, "currency_codes[1]"},
                                       {bad_percent, "min_percent_used"}}) {
    const StreamResult result = Call(request);
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_TRUE(result.messages.empty()) << field;
    EXPECT_EQ(ErrorInfoOf(result.status).reason(), "INVALID_ARGUMENT") << field;
    const google::rpc::BadRequest bad_request = BadRequestOf(result.status);
    ASSERT_EQ(bad_request.field_violations_size(), 1) << field;
    EXPECT_EQ(bad_request.field_violations(0).field(), field);
    EXPECT_FALSE(bad_request.field_violations(0).description().empty()) << field;
  }
}

TEST_F(UsageRecordsServiceTest, AFilteredCallSharesTheWalkOfAnUnfilteredOne) {
  snapshot_max_staleness_ = absl::Minutes(5);
  StartServer();
  EXPECT_CALL(*transport_, Send(_)).Times(2).WillRepeatedly(Invoke([](const HttpRequest& request) {
    return HeaderOf(request, "MS-ContinuationToken") == "t2" ? JsonResponse(MixedPage("b", 3))
                                                             : JsonResponse(MixedPage("a", 3, "t2"));
  }));
  const StreamResult all = List(10);
  ASSERT_TRUE(all.status.ok()) << all.status.error_message();
  EXPECT_EQ(all.ResourceIds().size(), 6u);
  v1::ListUsageRecordsRequest request;
  request.add_customer_ids("B1");  // not a GUID: refused, and no walk
  EXPECT_EQ(Call(request).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.clear_customer_ids();
  request.add_currency_codes("SEK");
  const StreamResult sek = Call(request);
  ASSERT_TRUE(sek.status.ok()) << sek.status.error_message();
  EXPECT_THAT(sek.ResourceIds(), testing::ElementsAre("a1", "b1"));
  EXPECT_TRUE(sek.messages[0].from_shared_snapshot());
  EXPECT_EQ(sek.messages[0].snapshot_time().SerializeAsString(), all.messages[0].snapshot_time().SerializeAsString());
}

}  // namespace
}  // namespace pcusage
