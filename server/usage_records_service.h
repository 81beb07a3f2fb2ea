// The ListUsageRecords RPC, wiring only: admits the call at the edge (CallGate), validates the request, picks the
// Partner Center token, then pulls pages from the Partner Center client and hands them to the BatchWriter. No HTTP,
// no JSON; every failure becomes the caller's status in one place (ToGrpcStatus). Messages leave as the bytes the
// translator and the BatchWriter wrote: the method is registered with a ByteBuffer writer (as the generated code
// registers its own, through gRPC's method-handler API), so no record is built as an object or serialized twice; the
// request arrives as bytes too, so that one protobuf refuses is answered like any other invalid request.
#ifndef PCUSAGE_SERVER_USAGE_RECORDS_SERVICE_H_
#define PCUSAGE_SERVER_USAGE_RECORDS_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/sync_stream.h"
#include "partnercenter/usage/v1/usage_records.pb.h"
#include "server/call_metadata.h"
#include "server/call_watchdog.h"
#include "server/callers/call_gate.h"
#include "server/drain.h"
#include "server/page_opener.h"
#include "server/partner_center/usage_client.h"
#include "server/resume_token.h"
#include "server/tokens/access_token_source.h"

namespace pcusage {

inline constexpr int kDefaultBatchSize = 100;
inline constexpr int kMaxBatchSize = 1000;

// The method's full name, as the generated service names it.
inline constexpr char kListUsageRecordsMethod[] = "/partnercenter.usage.v1.UsageRecordsService/ListUsageRecords";

struct UsageRecordsServiceOptions {
  // Bounds a call whose caller set no deadline, so a forgotten stream cannot hold a handler thread for ever; the
  // watchdog enforces it even on a handler blocked writing to a caller that stopped reading. Also the deadline of a
  // shared walk of Partner Center.
  absl::Duration max_call_duration = absl::Hours(1);
  // Where pages come from: prefetching, and shared snapshots (off unless snapshot_max_staleness is positive).
  PageOpenerOptions pages;
  // The server's drain (drain.h): refuses new calls once begun, ends running ones at its deadline. May be null.
  std::shared_ptr<Drain> drain;
};

class UsageRecordsService final : public grpc::Service {
 public:
  UsageRecordsService(std::shared_ptr<const partner_center::UsageClient> client,
                      std::shared_ptr<tokens::AccessTokenSource> token_source,
                      std::shared_ptr<const ResumeTokenCodec> resume_tokens, std::shared_ptr<callers::CallGate> gate,
                      UsageRecordsServiceOptions options = {});

  // `request` is a serialized partnercenter.usage.v1.ListUsageRecordsRequest, parsed here rather than by gRPC:
  // gRPC answers a request protobuf refuses (a resume_token that is not UTF-8) INTERNAL with no message before any
  // handler runs, where this answers INVALID_ARGUMENT (RESUME_TOKEN_INVALID), after admitting the caller as for any
  // other request. Each message written is a serialized partnercenter.usage.v1.ListUsageRecordsResponse.
  grpc::Status ListUsageRecords(grpc::ServerContext* context, const grpc::ByteBuffer* request,
                                grpc::ServerWriter<grpc::ByteBuffer>* writer);

  // Where this service's pages come from, for WatchBudgets to poll the same shared snapshots.
  PageOpener& page_opener() { return pages_; }

 private:
  struct CallRecord;

  // Everything after the correlation id is settled: admission, the request's parse and validation, the token, the
  // stream itself.
  absl::Status Stream(grpc::ServerContext& context,
                      const absl::StatusOr<partnercenter::usage::v1::ListUsageRecordsRequest>& parsed,
                      grpc::ServerWriter<grpc::ByteBuffer>& writer, CallRecord& record);

  // What the request asks of the pages, checked: where the stream starts and how old a shared snapshot may be.
  absl::StatusOr<PagesRequest> ValidatedRequest(const grpc::ServerContext& context,
                                                const partnercenter::usage::v1::ListUsageRecordsRequest& request,
                                                absl::string_view resume_identity, const CallRecord& record) const;

  // Where the stream starts: the first page, or where the request's resume token points, if it was issued to
  // `resume_identity`.
  absl::StatusOr<StreamPosition> StartPosition(const partnercenter::usage::v1::ListUsageRecordsRequest& request,
                                               absl::string_view resume_identity) const;

  // Logs the call's one summary line and makes its status.
  static grpc::Status Finish(absl::Status status, const CallRecord& record);

  std::shared_ptr<const partner_center::UsageClient> client_;
  std::shared_ptr<const ResumeTokenCodec> resume_tokens_;
  std::shared_ptr<callers::CallGate> gate_;
  absl::Duration max_call_duration_;
  PageOpener pages_;
  CallWatchdog watchdog_;
  std::shared_ptr<Drain> drain_;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_USAGE_RECORDS_SERVICE_H_
