// A synchronous C++ client for pcusage's ListUsageRecords stream: sends the caller's credentials and correlation id
// as request metadata and hands each record to a callback the moment its message arrives.
#ifndef PCUSAGE_CLIENT_STUBS_CPP_USAGE_RECORDS_CLIENT_H_
#define PCUSAGE_CLIENT_STUBS_CPP_USAGE_RECORDS_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/channel.h"
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

// Calls UsageRecordsService over a caller-supplied channel. Thread-safe: concurrent calls share the channel.
class UsageRecordsClient {
 public:
  using RecordCallback = std::function<bool(const partnercenter::usage::v1::CustomerMonthlyUsageRecord&)>;
  using MessageEndCallback = std::function<void()>;

  explicit UsageRecordsClient(std::shared_ptr<grpc::Channel> channel);

  // Streams ListUsageRecords, calling on_record for each record in the order the server sent them, on the calling
  // thread, as each message arrives. When on_record returns false the call is cancelled and the summary's status is
  // CANCELLED. Blocks until the stream ends; never throws (on_record must not throw either). An empty on_record
  // accepts every record. on_message_end, when set, runs after the records of each message, before the next is
  // awaited: where a caller that buffers its output should write it.
  ListSummary ListUsageRecords(const ListOptions& options, const RecordCallback& on_record,
                               const MessageEndCallback& on_message_end = nullptr) const;

 private:
  std::unique_ptr<partnercenter::usage::v1::UsageRecordsService::Stub> stub_;
};

}  // namespace pcusage::client

#endif  // PCUSAGE_CLIENT_STUBS_CPP_USAGE_RECORDS_CLIENT_H_
