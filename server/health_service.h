// grpc.health.v1.Health on gRPC's synchronous API, in place of gRPC's default health service: that one is a callback
// service, and in gRPC 1.51 any callback service adds threads that poll the process's one epoll set beside the
// synchronous server's, so every ListUsageRecords call pays extra thread handoffs (docs/benchmarks.md, "Shared
// snapshots"). Same answers as gRPC's: Check says SERVING or NOT_SERVING, NOT_FOUND for a service never named;
// Watch sends the status at once (SERVICE_UNKNOWN for one never named) and then each change, until the call ends.
// A Watch holds a handler thread (the auxiliary services gate bounds how many, --max_auxiliary_streams).
#ifndef PCUSAGE_SERVER_HEALTH_SERVICE_H_
#define PCUSAGE_SERVER_HEALTH_SERVICE_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/sync_stream.h"

namespace pcusage {

struct HealthServiceOptions {
  // How often a Watch looks whether its call was cancelled (the synchronous API has no notification of it).
  absl::Duration cancellation_check = absl::Milliseconds(250);
};

// The server owns it through grpc::HealthCheckServiceServerBuilderOption (so GetHealthCheckService() returns it, as
// with gRPC's own) and serves it once registered with the same ServerBuilder. The overall "" service is SERVING from
// the start. After Shutdown() every service is NOT_SERVING and stays so.
class HealthService final : public grpc::Service, public grpc::HealthCheckServiceInterface {
 public:
  explicit HealthService(HealthServiceOptions options = {});

  void SetServingStatus(const std::string& service_name, bool serving) override;
  void SetServingStatus(bool serving) override;
  void Shutdown() override;

  // The longest service name a request may carry: longer ones are INVALID_ARGUMENT (names are this server's own).
  static constexpr std::size_t kMaxServiceNameBytes = 256;

 private:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  grpc::Status Check(grpc::ServerContext* context, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response);
  grpc::Status Watch(grpc::ServerContext* context, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer);
  // SERVICE_UNKNOWN for a name never set.
  ServingStatus StatusLocked(const std::string& service_name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetLocked(const std::string& service_name, bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const HealthServiceOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;  // counts every change, so a Watch knows when to look again
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_HEALTH_SERVICE_H_
