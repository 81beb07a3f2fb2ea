// The ListUsageRecords RPC: reads the caller's metadata and resume token, asks the Partner Center client for page
// after page, and writes each page's records to the stream in batches, each with a resume token, as soon as the
// page arrives. Only wiring: no HTTP, no JSON.
#ifndef PCUSAGE_SERVER_USAGE_RECORDS_SERVICE_H_
#define PCUSAGE_SERVER_USAGE_RECORDS_SERVICE_H_

#include <memory>

#include "partnercenter/usage/v1/usage_records.grpc.pb.h"
#include "server/auth/access_token_source.h"
#include "server/auth/caller_authenticator.h"
#include "server/call_watchdog.h"
#include "server/partner_center/usage_client.h"
#include "server/resume_token.h"

namespace pcusage {

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

// Caller metadata naming the MS-CorrelationId to use; also returned in the initial metadata.
inline constexpr char kCorrelationIdMetadata[] = "x-ms-correlation-id";

class UsageRecordsService final : public partnercenter::usage::v1::UsageRecordsService::Service {
 public:
  UsageRecordsService(std::shared_ptr<const partner_center::UsageClient> client,
                      std::shared_ptr<auth::AccessTokenSource> tokens,
                      std::shared_ptr<const ResumeTokenCodec> resume_tokens,
                      std::shared_ptr<const auth::CallerAuthenticator> callers,
                      absl::Duration max_call_duration = absl::Hours(1));

  grpc::Status ListUsageRecords(
      grpc::ServerContext* context, const partnercenter::usage::v1::ListUsageRecordsRequest* request,
      grpc::ServerWriter<partnercenter::usage::v1::ListUsageRecordsResponse>* writer) override;

 private:
  // Where the stream starts: the first page, or where the request's resume token points, if it was issued to
  // `caller`.
  absl::StatusOr<StreamPosition> StartPosition(const partnercenter::usage::v1::ListUsageRecordsRequest& request,
                                               absl::string_view caller) const;

  std::shared_ptr<const partner_center::UsageClient> client_;
  std::shared_ptr<auth::AccessTokenSource> tokens_;
  std::shared_ptr<const ResumeTokenCodec> resume_tokens_;
  std::shared_ptr<const auth::CallerAuthenticator> callers_;
  // Bounds a call whose caller set no deadline, so a forgotten stream cannot hold a handler thread for ever; the
  // watchdog enforces it even on a handler blocked writing to a caller that stopped reading.
  absl::Duration max_call_duration_;
  CallWatchdog watchdog_;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_USAGE_RECORDS_SERVICE_H_
