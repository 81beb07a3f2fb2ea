#include "client_stubs/cpp/usage_records_client.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "gtest/gtest.h"

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::Optional;

constexpr char kGeneratedCorrelationId[] = "11111111-2222-3333-4444-555555555555";
constexpr char kCallerCorrelationId[] = "aaaa0000-bb11-2222-33cc-444444dddddd";
constexpr int64_t kTotalCount = 25;

v1::CustomerMonthlyUsageRecord Record(int i) {
  v1::CustomerMonthlyUsageRecord record;
  record.set_resource_id(absl::StrCat("tenant-", i));
  record.set_resource_name(absl::StrCat("Customer ", i));
  record.mutable_total_cost()->set_value(absl::StrCat(i, ".5682999999995904716"));
  return record;
}

// The records the fake sends, by message: 1, then 2, then 3.
const std::vector<std::vector<int>>& Batches() {
  static const auto* batches = new std::vector<std::vector<int>>{{0}, {1, 2}, {3, 4, 5}};
  return *batches;
}

std::vector<std::string> TenantIds(int count) {
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) ids.push_back(Record(i).resource_id());
  return ids;
}

// What the fake saw of the last call.
struct Received {
  std::optional<std::string> authorization;
  std::optional<std::string> correlation_id;
  int page_size = -1;
  std::chrono::system_clock::time_point deadline;
  bool cancelled = false;
  v1::WatchBudgetsRequest watch_request;
};

// Streams Batches() and then behaves as `mode` says.
class FakeUsageRecordsService final : public v1::UsageRecordsService::Service {
 public:
  enum class Mode {
    kComplete,          // all three messages, then OK
    kDeniedAfterOne,    // the first message, then PERMISSION_DENIED
    kWaitAfterTwo,      // two messages, then waits up to 5 s for the caller to cancel
    kSleepBeforeFirst,  // sleeps 2 s (waking on cancellation), then all three messages
  };

  void set_mode(Mode mode) {
    std::lock_guard<std::mutex> lock(mu_);
    mode_ = mode;
  }

  Received received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

  // Sends a level of one event and its end, then waits up to 10 s for the caller to cancel or its deadline to pass
  // (else UNAVAILABLE).
  grpc::Status WatchBudgets(grpc::ServerContext* context, const v1::WatchBudgetsRequest* request,
                            grpc::ServerWriter<v1::WatchBudgetsResponse>* writer) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      received_ = Received();
      received_.authorization = Metadata(*context, kAuthorizationMetadata);
      received_.deadline = context->deadline();
      received_.watch_request = *request;
    }
    context->AddInitialMetadata(kCorrelationIdMetadata, kGeneratedCorrelationId);
    v1::WatchBudgetsResponse level;
    level.mutable_budget_event()->set_kind(v1::BudgetEvent::KIND_LEVEL);
    *level.mutable_budget_event()->mutable_record() = Record(0);
    v1::WatchBudgetsResponse complete;
    complete.mutable_initial_state_complete()->set_matching_customers(1);
    if (!writer->Write(level) || !writer->Write(complete)) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
    const bool cancelled = WaitForCancellation(*context, absl::Seconds(10));
    std::lock_guard<std::mutex> lock(mu_);
    received_.cancelled = cancelled;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining");
  }

  grpc::Status ListUsageRecords(grpc::ServerContext* context, const v1::ListUsageRecordsRequest* request,
                                grpc::ServerWriter<v1::ListUsageRecordsResponse>* writer) override {
    Mode mode;
    Received received;
    received.authorization = Metadata(*context, kAuthorizationMetadata);
    received.correlation_id = Metadata(*context, kCorrelationIdMetadata);
    received.page_size = request->page_size();
    received.deadline = context->deadline();
    {
      std::lock_guard<std::mutex> lock(mu_);
      mode = mode_;
      received_ = received;
    }
    context->AddInitialMetadata(kCorrelationIdMetadata, received.correlation_id.value_or(kGeneratedCorrelationId));

    if (mode == Mode::kSleepBeforeFirst && WaitForCancellation(*context, absl::Seconds(2))) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "caller went away");
    }
    for (std::size_t i = 0; i < Batches().size(); ++i) {
      if (mode == Mode::kDeniedAfterOne && i == 1) {
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "Partner Center said 403");
      }
      if (mode == Mode::kWaitAfterTwo && i == 2) {
        const bool cancelled = WaitForCancellation(*context, absl::Seconds(5));
        std::lock_guard<std::mutex> lock(mu_);
        received_.cancelled = cancelled;
        return grpc::Status::OK;
      }
      v1::ListUsageRecordsResponse response;
      if (i == 0) response.set_partner_center_total_count(kTotalCount);
      for (int record : Batches()[i]) *response.add_usage_records() = Record(record);
      if (!writer->Write(response)) return grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
    }
    return grpc::Status::OK;
  }

 private:
  static std::optional<std::string> Metadata(const grpc::ServerContext& context, const char* key) {
    auto it = context.client_metadata().find(key);
    if (it == context.client_metadata().end()) return std::nullopt;
    return std::string(it->second.data(), it->second.size());
  }

  // Sleeps for `duration` or until the call is cancelled, whichever is first; true when cancelled.
  static bool WaitForCancellation(grpc::ServerContext& context, absl::Duration duration) {
    const absl::Time end = absl::Now() + duration;
    while (absl::Now() < end) {
      if (context.IsCancelled()) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return context.IsCancelled();
  }

  mutable std::mutex mu_;
  Mode mode_ = Mode::kComplete;
  Received received_;
};

class UsageRecordsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    address_ = absl::StrCat("127.0.0.1:", port);
    client_ = std::make_unique<UsageRecordsClient>(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  // Lists with `options`, collecting the tenant ids of the records received.
  ListSummary List(const ListOptions& options, std::vector<std::string>* tenants, int stop_after = -1) {
    return client_->ListUsageRecords(options, [&](const v1::CustomerMonthlyUsageRecord& record) {
      tenants->push_back(record.resource_id());
      return static_cast<int>(tenants->size()) != stop_after;
    });
  }

  FakeUsageRecordsService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<UsageRecordsClient> client_;
};

TEST_F(UsageRecordsClientTest, DeliversEveryRecordInOrder) {
  ListOptions options;
  options.page_size = 3;
  options.access_token = "eyJ0eXAi.token";
  options.correlation_id = kCallerCorrelationId;
  std::vector<v1::CustomerMonthlyUsageRecord> records;
  const ListSummary summary = client_->ListUsageRecords(options, [&](const v1::CustomerMonthlyUsageRecord& record) {
    records.push_back(record);
    return true;
  });

  ASSERT_TRUE(summary.status.ok()) << summary.status.error_message();
  ASSERT_EQ(records.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(records[i].SerializeAsString(), Record(i).SerializeAsString()) << i;
  EXPECT_EQ(summary.records, 6);
  EXPECT_EQ(summary.messages, 3);
  EXPECT_THAT(summary.partner_center_total_count, Optional(kTotalCount));
  EXPECT_EQ(summary.correlation_id, kCallerCorrelationId);

  const Received received = service_.received();
  EXPECT_THAT(received.authorization, Optional(std::string("Bearer eyJ0eXAi.token")));
  EXPECT_THAT(received.correlation_id, Optional(std::string(kCallerCorrelationId)));
  EXPECT_EQ(received.page_size, 3);
}

TEST_F(UsageRecordsClientTest, CallsOnMessageEndAfterEachMessagesRecords) {
  std::vector<std::string> events;
  const ListSummary summary = client_->ListUsageRecords(
      ListOptions(),
      [&](const v1::CustomerMonthlyUsageRecord& record) {
        events.push_back(record.resource_id());
        return true;
      },
      [&] { events.emplace_back("end"); });

  ASSERT_TRUE(summary.status.ok()) << summary.status.error_message();
  std::vector<std::string> expected;
  for (const std::vector<int>& batch : Batches()) {
    for (int record : batch) expected.push_back(Record(record).resource_id());
    expected.emplace_back("end");
  }
  EXPECT_EQ(events, expected);
}

TEST_F(UsageRecordsClientTest, SendsNoOptionalMetadataByDefault) {
  std::vector<std::string> tenants;
  const ListSummary summary = List(ListOptions(), &tenants);

  ASSERT_TRUE(summary.status.ok()) << summary.status.error_message();
  EXPECT_THAT(tenants, ElementsAreArray(TenantIds(6)));
  EXPECT_EQ(summary.correlation_id, kGeneratedCorrelationId);
  const Received received = service_.received();
  EXPECT_EQ(received.authorization, std::nullopt);
  EXPECT_EQ(received.correlation_id, std::nullopt);
  EXPECT_EQ(received.page_size, 0);
}

TEST_F(UsageRecordsClientTest, AcceptsAnEmptyCallback) {
  const ListSummary summary = client_->ListUsageRecords(ListOptions(), nullptr);
  ASSERT_TRUE(summary.status.ok()) << summary.status.error_message();
  EXPECT_EQ(summary.records, 6);
  EXPECT_EQ(summary.messages, 3);
}

TEST_F(UsageRecordsClientTest, CallbackReturningFalseCancelsTheCall) {
  service_.set_mode(FakeUsageRecordsService::Mode::kWaitAfterTwo);
  std::vector<std::string> tenants;
  const absl::Time start = absl::Now();
  const ListSummary summary = List(ListOptions(), &tenants, /*stop_after=*/2);

  EXPECT_EQ(summary.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_THAT(tenants, ElementsAre("tenant-0", "tenant-1"));
  EXPECT_EQ(summary.records, 2);
  EXPECT_EQ(summary.messages, 2);
  EXPECT_THAT(summary.partner_center_total_count, Optional(kTotalCount));
  EXPECT_EQ(summary.correlation_id, kGeneratedCorrelationId);
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));  // a hang guard, not a benchmark
  // The server learns of the cancellation shortly after the client returns.
  for (int i = 0; i < 3000 && !service_.received().cancelled; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(service_.received().cancelled);
}

TEST_F(UsageRecordsClientTest, CallbackReturningFalseOnTheLastRecordStillReportsCancelled) {
  std::vector<std::string> tenants;
  const ListSummary summary = List(ListOptions(), &tenants, /*stop_after=*/6);

  EXPECT_EQ(summary.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(summary.records, 6);
  EXPECT_EQ(summary.messages, 3);
}

TEST_F(UsageRecordsClientTest, PropagatesAnErrorAfterRecordsSoFar) {
  service_.set_mode(FakeUsageRecordsService::Mode::kDeniedAfterOne);
  ListOptions options;
  options.correlation_id = kCallerCorrelationId;
  std::vector<std::string> tenants;
  const ListSummary summary = List(options, &tenants);

  EXPECT_EQ(summary.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(summary.status.error_message(), "Partner Center said 403");
  EXPECT_THAT(tenants, ElementsAre("tenant-0"));
  EXPECT_EQ(summary.records, 1);
  EXPECT_EQ(summary.messages, 1);
  EXPECT_THAT(summary.partner_center_total_count, Optional(kTotalCount));
  EXPECT_EQ(summary.correlation_id, kCallerCorrelationId);
}

TEST_F(UsageRecordsClientTest, AppliesTheTimeoutToTheWholeStream) {
  service_.set_mode(FakeUsageRecordsService::Mode::kSleepBeforeFirst);
  ListOptions options;
  options.timeout = absl::Milliseconds(200);
  std::vector<std::string> tenants;
  const absl::Time start = absl::Now();
  const ListSummary summary = List(options, &tenants);
  const absl::Duration elapsed = absl::Now() - start;

  EXPECT_EQ(summary.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << summary.status.error_message();
  EXPECT_TRUE(tenants.empty());
  EXPECT_EQ(summary.records, 0);
  EXPECT_EQ(summary.messages, 0);
  EXPECT_EQ(summary.partner_center_total_count, std::nullopt);
  EXPECT_GE(elapsed, absl::Milliseconds(150));
  EXPECT_LT(elapsed, absl::Seconds(30));  // a hang guard, not a benchmark
}

TEST_F(UsageRecordsClientTest, SendsTheDefaultDeadline) {
  std::vector<std::string> tenants;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(List(ListOptions(), &tenants).status.ok());

  // grpc-timeout travels in coarse units rounded up, so the server's deadline may be up to a second later.
  const absl::Time deadline = absl::FromChrono(service_.received().deadline);
  EXPECT_GE(deadline, start + absl::Minutes(5) - absl::Seconds(1));
  EXPECT_LE(deadline, absl::Now() + absl::Minutes(5) + absl::Seconds(2));
}

TEST_F(UsageRecordsClientTest, InfiniteTimeoutSendsNoDeadline) {
  ListOptions options;
  options.timeout = absl::InfiniteDuration();
  std::vector<std::string> tenants;
  ASSERT_TRUE(List(options, &tenants).status.ok());

  EXPECT_EQ(service_.received().deadline, std::chrono::system_clock::time_point::max());
}

TEST_F(UsageRecordsClientTest, ReportsAnUnreachableServer) {
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
  UsageRecordsClient client(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  ListOptions options;
  options.timeout = absl::Seconds(5);

  const ListSummary summary = client.ListUsageRecords(options, nullptr);

  EXPECT_EQ(summary.status.error_code(), grpc::StatusCode::UNAVAILABLE) << summary.status.error_message();
  EXPECT_EQ(summary.messages, 0);
  EXPECT_EQ(summary.correlation_id, "");
}

TEST_F(UsageRecordsClientTest, WatchSendsTheRequestAndStopsOnCancelFromAnotherThread) {
  CallCancellation cancellation;
  WatchOptions options;
  options.thresholds = {"80", "99.5"};
  options.customer_ids = {"tenant-0"};
  options.currency_codes = {"EUR"};
  options.poll_interval = absl::Milliseconds(1500);
  options.access_token = "eyJ0eXAi.token";
  options.cancellation = &cancellation;
  std::vector<v1::WatchBudgetsResponse> messages;
  std::thread canceller;
  const absl::Time start = absl::Now();
  const WatchSummary summary = client_->WatchBudgets(options, [&](const v1::WatchBudgetsResponse& response) {
    messages.push_back(response);
    // Cancelled while the client waits for a third message that never comes.
    if (messages.size() == 2) canceller = std::thread([&cancellation] { cancellation.Cancel(); });
    return true;
  });
  canceller.join();

  EXPECT_EQ(summary.status.error_code(), grpc::StatusCode::CANCELLED) << summary.status.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));  // well before the fake gives up waiting
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].budget_event().record().resource_id(), "tenant-0");
  EXPECT_EQ(messages[1].initial_state_complete().matching_customers(), 1);
  EXPECT_EQ(summary.messages, 2);
  EXPECT_EQ(summary.correlation_id, kGeneratedCorrelationId);
  for (int i = 0; i < 3000 && !service_.received().cancelled; ++i) absl::SleepFor(absl::Milliseconds(10));
  const Received received = service_.received();
  EXPECT_TRUE(received.cancelled);
  EXPECT_THAT(received.authorization, Optional(std::string("Bearer eyJ0eXAi.token")));
  // A watch has no deadline unless one is asked for.
  EXPECT_EQ(received.deadline, std::chrono::system_clock::time_point::max());
  const v1::WatchBudgetsRequest& request = received.watch_request;
  ASSERT_EQ(request.thresholds_size(), 2);
  EXPECT_EQ(request.thresholds(0).value(), "80");
  EXPECT_EQ(request.thresholds(1).value(), "99.5");
  EXPECT_THAT(request.customer_ids(), ElementsAre("tenant-0"));
  EXPECT_THAT(request.currency_codes(), ElementsAre("EUR"));
  EXPECT_EQ(request.poll_interval().seconds(), 1);
  EXPECT_EQ(request.poll_interval().nanos(), 500000000);
}

TEST_F(UsageRecordsClientTest, WatchCancelledBeforeItStartsEndsAtOnce) {
  CallCancellation cancellation;
  cancellation.Cancel();
  WatchOptions options;
  options.cancellation = &cancellation;
  const absl::Time start = absl::Now();
  const WatchSummary summary = client_->WatchBudgets(options, nullptr);

  EXPECT_EQ(summary.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(summary.messages, 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));
}

TEST_F(UsageRecordsClientTest, WatchStopsWhenOnEventRefusesOrItsDeadlinePasses) {
  const WatchSummary stopped =
      client_->WatchBudgets(WatchOptions(), [](const v1::WatchBudgetsResponse&) { return false; });
  EXPECT_EQ(stopped.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(stopped.messages, 1);
  EXPECT_FALSE(service_.received().watch_request.has_poll_interval());  // unset: the server's default

  WatchOptions options;
  options.timeout = absl::Milliseconds(300);
  const WatchSummary ended = client_->WatchBudgets(options, nullptr);
  EXPECT_EQ(ended.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << ended.status.error_message();
  EXPECT_EQ(ended.messages, 2);
}

}  // namespace
}  // namespace pcusage::client
