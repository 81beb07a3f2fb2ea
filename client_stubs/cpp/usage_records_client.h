// A synchronous C++ client for pcusage's ListUsageRecords and WatchBudgets streams: sends the caller's credentials
// and correlation id as request metadata and hands each record, or each budget event, to a callback the moment its
// message arrives.
#ifndef PCUSAGE_CLIENT_STUBS_CPP_USAGE_RECORDS_CLIENT_H_
#define PCUSAGE_CLIENT_STUBS_CPP_USAGE_RECORDS_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "partnercenter/usage/v1/usage_records.grpc.pb.h"

namespace pcusage::client {

// Request metadata names understood by the pcusage server.
inline constexpr char kAuthorizationMetadata[] = "authorization";
inline constexpr char kCorrelationIdMetadata[] = "x-ms-correlation-id";
inline constexpr char kApiKeyMetadata[] = "x-api-key";

// How to make one ListUsageRecords call.
struct ListOptions {
  // The most records per response message; 0 lets the server choose (100). The server rejects negative values.
  int page_size = 0;
  // Deadline for the whole stream, counted from the start of the call; absl::InfiniteDuration() sets none.
  absl::Duration timeout = absl::Minutes(5);
  // A Partner Center App+User token, sent as "authorization: Bearer <token>" when non-empty.
  std::string access_token;
  // A GUID sent as "x-ms-correlation-id" when non-empty; the server generates one otherwise.
  std::string correlation_id;
  // Continue an earlier stream: that call's ListSummary::resume_token.
  std::string resume_token;
  // Sent as "x-api-key" when non-empty, for a server that authenticates its callers with API keys.
  std::string api_key;
  // How old a list the server fetched for another call may be and still serve this one (max_staleness); unset lets
  // the server choose, zero asks for a fresh walk of Partner Center.
  std::optional<absl::Duration> max_staleness;
  // Filters applied by the server (docs/api.md, "Filters"): only these customers (resource ids, GUIDs), these ISO 4217
  // currencies, a percent_used at least this decimal text, a budget with an amount. Empty or unset: no such filter.
  std::vector<std::string> customer_ids;
  std::vector<std::string> currency_codes;
  std::optional<std::string> min_percent_used;
  bool only_with_budget = false;
};

// The outcome of one ListUsageRecords call.
struct ListSummary {
  // OK only when the server ended the stream with OK, i.e. every record Partner Center listed was delivered.
  grpc::Status status;
  // The server's "x-ms-correlation-id" initial metadata (the MS-CorrelationId it used); empty when it sent none.
  std::string correlation_id;
  // Partner Center's own totalCount from the first message, when set. Not the number of records delivered.
  std::optional<int64_t> partner_center_total_count;
  // Records received and handed to on_record, counting one it refused.
  int64_t records = 0;
  // Response messages received.
  int64_t messages = 0;
  // When the walk of Partner Center these records come from started, and whether another call started it (from
  // the first message).
  std::optional<absl::Time> snapshot_time;
  bool from_shared_snapshot = false;
  // The resume token after the last message whose records on_record all accepted: pass it as
  // ListOptions::resume_token to continue from the first record not yet handed over. Empty before any message.
  std::string resume_token;
  // The server's google.rpc error details, when the status carries them.
  std::optional<google::rpc::ErrorInfo> error_info;
  std::optional<google::rpc::RetryInfo> retry_info;
};

// Ends a call from another thread (one waiting for SIGINT, say): Cancel cancels the call that was given this object
// at once, whether it runs when Cancel is called or starts afterwards. Thread-safe.
class CallCancellation {
 public:
  void Cancel();
  bool cancelled() const;

 private:
  friend class UsageRecordsClient;
  // The call under way, cancelled by Cancel; nullptr between calls.
  void Attach(grpc::ClientContext* context);
  void Detach();

  mutable absl::Mutex mu_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// How to make one WatchBudgets call (docs/api.md, "Budget watch").
struct WatchOptions {
  // Percentages of budget as decimal text ("80", "99.5"), compared exactly by the server. Empty: 80 and 100.
  std::vector<std::string> thresholds;
  // The same filters as ListOptions': only these customers (resource ids) and ISO 4217 currencies; empty: all.
  std::vector<std::string> customer_ids;
  std::vector<std::string> currency_codes;
  // How often the server looks at the list; unset: its default (15 minutes). The server refuses one below its
  // --min_watch_poll_interval with INVALID_ARGUMENT.
  std::optional<absl::Duration> poll_interval;
  // Deadline for the whole stream, counted from the start of the call; absl::InfiniteDuration() (the default) sets
  // none, since a watch is meant to run until it is cancelled.
  absl::Duration timeout = absl::InfiniteDuration();
  // Credentials and correlation id, sent as ListOptions' are.
  std::string access_token;
  std::string correlation_id;
  std::string api_key;
  // When set, ends the call from another thread; it must outlive the call.
  CallCancellation* cancellation = nullptr;
};

// The outcome of one WatchBudgets call.
struct WatchSummary {
  // The server's status (a watch ends only with an error: its deadline, a drain, an error waiting cannot mend), or
  // CANCELLED when on_event refused a message or the call's CallCancellation was cancelled.
  grpc::Status status;
  // The server's "x-ms-correlation-id" initial metadata; empty when it sent none.
  std::string correlation_id;
  // Response messages (events) received, counting one on_event refused.
  int64_t messages = 0;
  // The server's google.rpc error details, when the status carries them.
  std::optional<google::rpc::ErrorInfo> error_info;
  std::optional<google::rpc::RetryInfo> retry_info;
};

// Calls UsageRecordsService over a caller-supplied channel. Thread-safe: concurrent calls share the channel.
class UsageRecordsClient {
 public:
  using RecordCallback = std::function<bool(const partnercenter::usage::v1::CustomerMonthlyUsageRecord&)>;
  using MessageEndCallback = std::function<void()>;
  using EventCallback = std::function<bool(const partnercenter::usage::v1::WatchBudgetsResponse&)>;

  explicit UsageRecordsClient(std::shared_ptr<grpc::Channel> channel);

  // Streams ListUsageRecords, calling on_record for each record in the order the server sent them, on the calling
  // thread, as each message arrives. When on_record returns false the call is cancelled and the summary's status is
  // CANCELLED. Blocks until the stream ends; never throws (on_record must not throw either). An empty on_record
  // accepts every record. on_message_end, when set, runs after the records of each message, before the next is
  // awaited: where a caller that buffers its output should write it.
  ListSummary ListUsageRecords(const ListOptions& options, const RecordCallback& on_record,
                               const MessageEndCallback& on_message_end = nullptr) const;

  // Streams WatchBudgets, calling on_event for each message (one event each) on the calling thread as it arrives.
  // When on_event returns false the call is cancelled and the summary's status is CANCELLED. Blocks until the stream
  // ends: the server ends it with an error, or the caller cancels (through on_event, options.cancellation or
  // options.timeout). Never throws (on_event must not throw either). An empty on_event accepts every message.
  WatchSummary WatchBudgets(const WatchOptions& options, const EventCallback& on_event) const;

 private:
  std::unique_ptr<partnercenter::usage::v1::UsageRecordsService::Stub> stub_;
};

}  // namespace pcusage::client

#endif  // PCUSAGE_CLIENT_STUBS_CPP_USAGE_RECORDS_CLIENT_H_
