// WatchBudgets over real processes on loopback: the emulator's data set is edited between polls (POST
// /emulator/dataset), and each watcher's stream is read on a thread of its own. The emulator's request log proves
// that watchers and list callers together cost one walk per poll interval.
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "partnercenter/usage/v1/usage_records.grpc.pb.h"
#include "tests/testing/emulator_and_server.h"
#include "tests/testing/redis_server.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::pcusage::testing::EmulatorAndServer;
using ::pcusage::testing::RedisServer;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

constexpr int kCustomers = 6;
constexpr absl::Duration kInterval = absl::Seconds(1);

std::unique_ptr<EmulatorAndServer> Start(std::vector<std::string> extra_server_flags = {}) {
  std::vector<std::string> server_flags = EmulatorAndServer::WithTokenFile();
  server_flags.push_back("--min_watch_poll_interval=500ms");
  server_flags.push_back("--max_attempts=1");
  for (std::string& flag : extra_server_flags) server_flags.push_back(std::move(flag));
  // One page: a walk is one request, so an edit never lands in the middle of one.
  absl::StatusOr<std::unique_ptr<EmulatorAndServer>> stack = EmulatorAndServer::Start(
      {"--dataset=generated", absl::StrCat("--customers=", kCustomers), "--page_size=100"}, server_flags);
  EXPECT_TRUE(stack.ok()) << stack.status();
  return stack.ok() ? *std::move(stack) : nullptr;
}

// The generated customers' resource ids, in listed order.
std::vector<std::string> CustomerIds(const EmulatorAndServer& stack) {
  client::ListOptions options;
  options.timeout = absl::Seconds(30);
  std::vector<std::string> ids;
  for (const auto& record : stack.List(options).records) ids.push_back(record.resource_id());
  return ids;
}

std::string SetPercent(const std::string& id, const std::string& percent) {
  return absl::StrCat(R"({"resource_id": ")", id, R"(", "percent_used": ")", percent, R"("})");
}

// One WatchBudgets stream, read on a thread of its own into a list of messages.
class Watcher {
 public:
  Watcher(int port, v1::WatchBudgetsRequest request) {
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::UsageRecordsService::NewStub(channel_);
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    reader_ = stub_->WatchBudgets(&context_, request);
    thread_ = std::thread([this] {
      v1::WatchBudgetsResponse response;
      while (reader_->Read(&response)) {
        absl::MutexLock lock(&mu_);
        messages_.push_back(response);
      }
      grpc::Status status = reader_->Finish();
      absl::MutexLock lock(&mu_);
      status_ = status;
      done_ = true;
    });
  }
  ~Watcher() {
    context_.TryCancel();
    thread_.join();
  }

  // Waits until at least `count` messages arrived (or the stream ended, or 30 s passed); all received so far.
  std::vector<v1::WatchBudgetsResponse> WaitFor(std::size_t count, absl::Duration timeout = absl::Seconds(30)) {
    absl::MutexLock lock(&mu_);
    const auto enough = [this, count] { return done_ || messages_.size() >= count; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return messages_;
  }
  // Waits for the stream's end (at most `timeout`); its status, or nullopt while it runs.
  std::optional<grpc::Status> WaitForEnd(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&done_), timeout);
    if (!done_) return std::nullopt;
    return status_;
  }
  void Cancel() { context_.TryCancel(); }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::UsageRecordsService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchBudgetsResponse>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<v1::WatchBudgetsResponse> messages_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

v1::WatchBudgetsRequest Request(absl::Duration interval = kInterval) {
  v1::WatchBudgetsRequest request;
  request.mutable_poll_interval()->set_seconds(absl::ToInt64Seconds(interval));
  request.mutable_poll_interval()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(interval % absl::Seconds(1))));
  return request;
}

// An event as "KIND threshold id previous": previous is "-" when unset.
std::string Show(const v1::WatchBudgetsResponse& message) {
  if (message.has_initial_state_complete()) {
    return absl::StrCat("INITIAL_STATE_COMPLETE ", message.initial_state_complete().matching_customers());
  }
  if (message.has_poll_failed()) {
    return absl::StrCat("POLL_FAILED ", message.poll_failed().code(), " ", message.poll_failed().reason(), " ",
                        message.poll_failed().failures_in_a_row());
  }
  const v1::BudgetEvent& event = message.budget_event();
  return absl::StrCat(v1::BudgetEvent::Kind_Name(event.kind()), " ", event.threshold().value(), " ",
                      event.record().resource_id(), " ",
                      event.has_previous_percent_used() ? event.previous_percent_used().value() : "-");
}

std::vector<std::string> Shown(const std::vector<v1::WatchBudgetsResponse>& messages, std::size_t from = 0) {
  std::vector<std::string> shown;
  for (std::size_t i = from; i < messages.size(); ++i) shown.push_back(Show(messages[i]));
  return shown;
}

// The ErrorInfo reason of a status, or "" when it has none.
std::string Reason(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& detail : details.details()) {
    google::rpc::ErrorInfo info;
    if (detail.UnpackTo(&info)) return info.reason();
  }
  return "";
}

// Edits the stack's data set so that its first customer is at 85 % and every other at 10 %; the customers' ids.
std::vector<std::string> OneCustomerAt85(const EmulatorAndServer& stack) {
  const std::vector<std::string> ids = CustomerIds(stack);
  std::vector<std::string> edits;
  for (std::size_t i = 0; i < ids.size(); ++i) edits.push_back(SetPercent(ids[i], i == 0 ? "85" : "10"));
  EXPECT_TRUE(stack.EditDataset(absl::StrCat("[", absl::StrJoin(edits, ","), "]")).ok());
  return ids;
}

int UsageRequests(const EmulatorAndServer& stack) {
  int count = 0;
  for (const nlohmann::json& entry : stack.EmulatorRequests()) {
    if (entry["path"] == "/v1/customers/usagerecords") ++count;
  }
  return count;
}

class WatchBudgetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Start();
    ASSERT_NE(stack_, nullptr);
    ids_ = CustomerIds(*stack_);
    ASSERT_EQ(ids_.size(), kCustomers);
    // c0 at 85, c1 just below 80, c2 at 100 exactly, the rest at 10.
    std::vector<std::string> edits = {SetPercent(ids_[0], "85"), SetPercent(ids_[1], "79.99999999999999999999"),
                                      SetPercent(ids_[2], "100")};
    for (int i = 3; i < kCustomers; ++i) edits.push_back(SetPercent(ids_[i], "10"));
    ASSERT_TRUE(stack_->EditDataset(absl::StrCat("[", absl::StrJoin(edits, ","), "]")).ok());
    // The listing above left a snapshot of the data set before the edits; a watch's first poll reads a snapshot no
    // older than its interval, so let that one age past it.
    absl::SleepFor(kInterval + absl::Milliseconds(200));
  }

  std::unique_ptr<EmulatorAndServer> stack_;
  std::vector<std::string> ids_;
};

TEST_F(WatchBudgetsTest, LevelThenExactEdgesUpDownGoneAndNew) {
  Watcher watcher(stack_->server_port(), Request());
  std::vector<v1::WatchBudgetsResponse> level = watcher.WaitFor(4);
  ASSERT_EQ(level.size(), 4u) << watcher.WaitForEnd(absl::ZeroDuration())->error_message();
  EXPECT_THAT(Shown(level), ::testing::ElementsAre("KIND_LEVEL 80 " + ids_[0] + " -", "KIND_LEVEL 80 " + ids_[2] + " -",
                                                   "KIND_LEVEL 100 " + ids_[2] + " -", "INITIAL_STATE_COMPLETE 6"));
  EXPECT_EQ(level[0].budget_event().record().percent_used().value(), "85");
  EXPECT_GT(level[0].snapshot_time().seconds(), 0);

  const std::string added = "dddddddd-0000-0000-0000-000000000009";
  ASSERT_TRUE(stack_
                  ->EditDataset(absl::StrCat("[", SetPercent(ids_[1], "80"), ",",
                                             SetPercent(ids_[0], "79.99999999999999999999"), R"(, {"resource_id": ")",
                                             ids_[2], R"(", "remove": true}, {"resource_id": ")", added,
                                             R"(", "add": true, "percent_used": "150", "budget": "10"}])"))
                  .ok());
  const std::vector<v1::WatchBudgetsResponse> all = watcher.WaitFor(level.size() + 6);
  EXPECT_THAT(Shown(all, level.size()),
              ::testing::ElementsAre("KIND_CROSSED_DOWN 80 " + ids_[0] + " 85",
                                     "KIND_CROSSED_UP 80 " + ids_[1] + " 79.99999999999999999999",
                                     "KIND_CROSSED_UP 80 " + added + " -", "KIND_CROSSED_UP 100 " + added + " -",
                                     "KIND_GONE 100 " + ids_[2] + " 100", "KIND_GONE 80 " + ids_[2] + " 100"));
  // Later polls see no change: nothing more.
  absl::SleepFor(3 * kInterval);
  EXPECT_EQ(watcher.WaitFor(0).size(), level.size() + 6);
}

TEST_F(WatchBudgetsTest, FiltersAndThresholdsOfTheRequest) {
  v1::WatchBudgetsRequest request = Request();
  request.add_customer_ids(absl::AsciiStrToUpper(ids_[2]));
  request.add_customer_ids(ids_[1]);
  request.add_thresholds()->set_value("79.99999999999999999999");
  request.add_thresholds()->set_value("1E+2");
  Watcher watcher(stack_->server_port(), request);
  EXPECT_THAT(Shown(watcher.WaitFor(4)),
              ::testing::ElementsAre("KIND_LEVEL 79.99999999999999999999 " + ids_[1] + " -",
                                     "KIND_LEVEL 79.99999999999999999999 " + ids_[2] + " -",
                                     "KIND_LEVEL 1E+2 " + ids_[2] + " -", "INITIAL_STATE_COMPLETE 2"));
}

TEST_F(WatchBudgetsTest, AFailedPollIsReportedAndTheWatchRecovers) {
  Watcher watcher(stack_->server_port(), Request());
  ASSERT_EQ(watcher.WaitFor(4).size(), 4u);
  ASSERT_TRUE(stack_->SetFaults(R"([{"page": 0, "times": 2, "fault": "http_status", "status": 503}])").ok());
  ASSERT_TRUE(stack_->EditDataset(absl::StrCat("[", SetPercent(ids_[3], "99"), "]")).ok());
  const std::vector<v1::WatchBudgetsResponse> all = watcher.WaitFor(7);
  EXPECT_THAT(Shown(all, 4), ::testing::ElementsAre("POLL_FAILED 14 PARTNER_CENTER_UNAVAILABLE 1",
                                                    "POLL_FAILED 14 PARTNER_CENTER_UNAVAILABLE 2",
                                                    "KIND_CROSSED_UP 80 " + ids_[3] + " 10"));
  ASSERT_GE(all.size(), 6u);
  EXPECT_EQ(all[4].poll_failed().retry_in().nanos(), 250000000);  // a quarter of the interval
  EXPECT_EQ(all[5].poll_failed().retry_in().nanos(), 500000000);  // then doubling
  EXPECT_FALSE(watcher.WaitForEnd(absl::ZeroDuration()).has_value());
}

TEST_F(WatchBudgetsTest, ManyWatchersAndListCallersCostOneWalkPerInterval) {
  constexpr int kWatchers = 50;
  constexpr absl::Duration kLongerInterval = absl::Seconds(2);
  absl::SleepFor(kLongerInterval);            // SetUp's snapshot ages past this test's interval
  ASSERT_TRUE(stack_->SetFaults("[]").ok());  // clears the request log
  const absl::Time started = absl::Now();
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    watchers.push_back(std::make_unique<Watcher>(stack_->server_port(), Request(kLongerInterval)));
  }
  for (auto& watcher : watchers) ASSERT_EQ(watcher->WaitFor(4).size(), 4u);
  std::vector<std::thread> listers;
  for (int i = 0; i < 5; ++i) {
    listers.emplace_back([this] {
      client::ListOptions options;
      options.timeout = absl::Seconds(30);
      EXPECT_EQ(stack_->List(options).records.size(), kCustomers);
    });
  }
  for (std::thread& lister : listers) lister.join();
  absl::SleepFor(absl::Seconds(5));
  const double intervals = absl::FDivDuration(absl::Now() - started, kLongerInterval);
  const int walks = UsageRequests(*stack_);
  RecordProperty("walks", walks);
  RecordProperty("intervals", static_cast<int>(intervals));
  EXPECT_GE(walks, 2);
  EXPECT_LE(walks, static_cast<int>(intervals) + 2) << intervals << " intervals";
  for (auto& watcher : watchers) EXPECT_FALSE(watcher->WaitForEnd(absl::ZeroDuration()).has_value());
}

TEST(WatchBudgetsEdgeTest, CancelGivesTheStreamSlotBack) {
  std::unique_ptr<EmulatorAndServer> stack = Start({"--max_concurrent_streams=1", "--max_threads=16"});
  ASSERT_NE(stack, nullptr);
  {
    Watcher watcher(stack->server_port(), Request());
    ASSERT_GE(watcher.WaitFor(1).size(), 1u);
    client::ListOptions options;
    options.timeout = absl::Seconds(10);
    EXPECT_EQ(stack->List(options).summary.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    watcher.Cancel();
    const std::optional<grpc::Status> ended = watcher.WaitForEnd(absl::Seconds(10));
    ASSERT_TRUE(ended.has_value());
    EXPECT_EQ(ended->error_code(), grpc::StatusCode::CANCELLED);
  }
  // The server sees the cancel within kWatchWakeInterval.
  absl::SleepFor(absl::Milliseconds(500));
  client::ListOptions options;
  options.timeout = absl::Seconds(10);
  EXPECT_TRUE(stack->List(options).summary.status.ok());
}

TEST(WatchBudgetsEdgeTest, TheDrainEndsAWatchAtOnce) {
  std::unique_ptr<EmulatorAndServer> stack = Start({"--drain_timeout=30s"});
  ASSERT_NE(stack, nullptr);
  Watcher watcher(stack->server_port(), Request());
  ASSERT_GE(watcher.WaitFor(1).size(), 1u);
  const absl::Time signalled = absl::Now();
  stack->SignalServer(SIGTERM);
  const std::optional<grpc::Status> ended = watcher.WaitForEnd(absl::Seconds(10));
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Reason(*ended), "SERVER_DRAINING");
  // A watch has no resume token: it is told to watch again, not to resume.
  EXPECT_THAT(ended->error_message(), HasSubstr("watch again on another replica"));
  EXPECT_THAT(ended->error_message(), Not(HasSubstr("resume_token")));
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5));
}

TEST(WatchBudgetsEdgeTest, TheServersMaxWatchDurationEndsTheStreamSayingSo) {
  std::unique_ptr<EmulatorAndServer> stack = Start({"--max_watch_duration=2s"});
  ASSERT_NE(stack, nullptr);
  Watcher watcher(stack->server_port(), Request());  // its own deadline is two minutes away
  ASSERT_GE(watcher.WaitFor(1).size(), 1u);
  const std::optional<grpc::Status> ended = watcher.WaitForEnd(absl::Seconds(30));
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(Reason(*ended), "CALL_DEADLINE_EXCEEDED");
  EXPECT_THAT(ended->error_message(), HasSubstr("--max_watch_duration (2s)"));
  EXPECT_THAT(stack->ServerLog(), HasSubstr("code=DEADLINE_EXCEEDED"));
}

TEST(WatchBudgetsEdgeTest, AServerWithSharingOffRefusesWatchesAndAsksNothingUpstream) {
  std::unique_ptr<EmulatorAndServer> stack = Start({"--snapshot_max_staleness=0"});
  ASSERT_NE(stack, nullptr);
  ASSERT_TRUE(stack->SetFaults("[]").ok());  // clears the request log
  Watcher watcher(stack->server_port(), Request());
  const std::optional<grpc::Status> ended = watcher.WaitForEnd(absl::Seconds(10));
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(*ended), "WATCH_NEEDS_SHARED_SNAPSHOTS");
  EXPECT_EQ(UsageRequests(*stack), 0);
}

// Two replicas sharing one Redis: their watchers together cost about one walk per interval, as one replica's do.
TEST(WatchBudgetsRedisTest, WatchersOnTwoReplicasSharingRedisCostOneWalkPerInterval) {
  constexpr int kWatchersPerReplica = 10;
  constexpr absl::Duration kRedisInterval = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  // A Redis timeout is a fallback to a walk of the replica's own (by design); give a loaded machine time.
  std::unique_ptr<EmulatorAndServer> stack =
      Start({"--snapshot_store=" + (*redis)->url(), "--redis_key_prefix=watch:", "--redis_timeout=10s"});
  ASSERT_NE(stack, nullptr);
  absl::StatusOr<EmulatorAndServer::Server> replica = stack->StartReplica();
  ASSERT_TRUE(replica.ok()) << replica.status();
  const std::vector<std::string> ids = OneCustomerAt85(*stack);
  ASSERT_EQ(ids.size(), kCustomers);
  absl::SleepFor(kRedisInterval);            // the listing's snapshot ages past the interval
  ASSERT_TRUE(stack->SetFaults("[]").ok());  // clears the request log

  const absl::Time started = absl::Now();
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < 2 * kWatchersPerReplica; ++i) {
    const int port = i % 2 == 0 ? stack->server_port() : replica->port;
    watchers.push_back(std::make_unique<Watcher>(port, Request(kRedisInterval)));
  }
  for (auto& watcher : watchers) {
    EXPECT_THAT(Shown(watcher->WaitFor(2)),
                ::testing::ElementsAre("KIND_LEVEL 80 " + ids[0] + " -", "INITIAL_STATE_COMPLETE 6"));
  }
  ASSERT_TRUE(stack->EditDataset(absl::StrCat("[", SetPercent(ids[1], "90"), "]")).ok());
  for (auto& watcher : watchers) {
    const std::vector<v1::WatchBudgetsResponse> all = watcher->WaitFor(3);
    EXPECT_THAT(Shown(all, 2), ::testing::ElementsAre("KIND_CROSSED_UP 80 " + ids[1] + " 10"));
  }
  absl::SleepFor(2 * kRedisInterval);
  const double intervals = absl::FDivDuration(absl::Now() - started, kRedisInterval);
  const int walks = UsageRequests(*stack);  // one page: a walk is one request
  RecordProperty("walks", walks);
  RecordProperty("intervals", static_cast<int>(intervals));
  // Without Redis each replica would walk every interval: about twice this.
  EXPECT_GE(walks, 2);
  EXPECT_LE(walks, static_cast<int>(intervals) + 2) << intervals << " intervals";
  for (auto& watcher : watchers) EXPECT_FALSE(watcher->WaitForEnd(absl::ZeroDuration()).has_value());
}

TEST(WatchBudgetsEdgeTest, InvalidRequestsNameTheField) {
  std::unique_ptr<EmulatorAndServer> stack = Start();
  ASSERT_NE(stack, nullptr);
  const auto field_of = [&stack](const v1::WatchBudgetsRequest& request) {
    Watcher watcher(stack->server_port(), request);
    const std::optional<grpc::Status> ended = watcher.WaitForEnd(absl::Seconds(10));
    if (!ended.has_value() || ended->error_code() != grpc::StatusCode::INVALID_ARGUMENT) return std::string("?");
    google::rpc::Status details;
    if (!details.ParseFromString(ended->error_details())) return std::string("no details");
    for (const auto& detail : details.details()) {
      google::rpc::BadRequest bad_request;
      if (detail.UnpackTo(&bad_request) && bad_request.field_violations_size() == 1) {
        return bad_request.field_violations(0).field();
      }
    }
    return std::string("no BadRequest");
  };
  EXPECT_EQ(field_of(Request(absl::Milliseconds(499))), "poll_interval");
  v1::WatchBudgetsRequest threshold = Request();
  threshold.add_thresholds()->set_value("eighty");
  EXPECT_EQ(field_of(threshold), "thresholds[0]");
  v1::WatchBudgetsRequest customer = Request();
  customer.add_customer_ids("not-a-guid");
  EXPECT_EQ(field_of(customer), "customer_ids[0]");
  v1::WatchBudgetsRequest currency = Request();
  currency.add_currency_codes("EURO");
  EXPECT_EQ(field_of(currency), "currency_codes[0]");
}

}  // namespace
}  // namespace pcusage
