#include "server/health_service.h"

#include <optional>
#include <string>

#include "grpcpp/impl/codegen/method_handler.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/codegen/rpc_service_method.h"

namespace pcusage {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr char kCheckMethod[] = "/grpc.health.v1.Health/Check";
constexpr char kWatchMethod[] = "/grpc.health.v1.Health/Watch";

grpc::Status InvalidServiceName() {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "service is longer than " + std::to_string(HealthService::kMaxServiceNameBytes) + " bytes");
}

}  // namespace

HealthService::HealthService(HealthServiceOptions options) : options_(options) {
  statuses_[""] = HealthCheckResponse::SERVING;
  AddMethod(new grpc::internal::RpcServiceMethod(
      kCheckMethod, grpc::internal::RpcMethod::NORMAL_RPC,
      new grpc::internal::RpcMethodHandler<HealthService, HealthCheckRequest, HealthCheckResponse>(
          [](HealthService* service, grpc::ServerContext* context, const HealthCheckRequest* request,
             HealthCheckResponse* response) { return service->Check(context, request, response); },
          this)));
  AddMethod(new grpc::internal::RpcServiceMethod(
      kWatchMethod, grpc::internal::RpcMethod::SERVER_STREAMING,
      new grpc::internal::ServerStreamingHandler<HealthService, HealthCheckRequest, HealthCheckResponse>(
          [](HealthService* service, grpc::ServerContext* context, const HealthCheckRequest* request,
             grpc::ServerWriter<HealthCheckResponse>* writer) { return service->Watch(context, request, writer); },
          this)));
}

void HealthService::SetServingStatus(const std::string& service_name, bool serving) {
  absl::MutexLock lock(&mu_);
  SetLocked(service_name, serving && !shut_down_);
}

void HealthService::SetServingStatus(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  for (auto& [name, status] : statuses_) SetLocked(name, serving);
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& [name, status] : statuses_) SetLocked(name, false);
}

void HealthService::SetLocked(const std::string& service_name, bool serving) {
  const ServingStatus status = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  auto [entry, added] = statuses_.try_emplace(service_name, status);
  if (!added && entry->second == status) return;
  entry->second = status;
  ++changes_;
}

HealthService::ServingStatus HealthService::StatusLocked(const std::string& service_name) const {
  auto found = statuses_.find(service_name);
  return found == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : found->second;
}

grpc::Status HealthService::Check(grpc::ServerContext* /*context*/, const HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  if (request->service().size() > kMaxServiceNameBytes) return InvalidServiceName();
  ServingStatus status;
  {
    absl::MutexLock lock(&mu_);
    status = StatusLocked(request->service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
  }
  response->set_status(status);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* context, const HealthCheckRequest* request,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  if (request->service().size() > kMaxServiceNameBytes) return InvalidServiceName();
  // Seen before the first status is taken, so that a change after it is not missed.
  uint64_t seen_changes;
  std::optional<ServingStatus> sent;
  HealthCheckResponse response;
  while (!context->IsCancelled()) {
    ServingStatus status;
    {
      absl::MutexLock lock(&mu_);
      seen_changes = changes_;
      status = StatusLocked(request->service());
    }
    if (status != sent) {
      response.set_status(status);
      if (!writer->Write(response)) break;  // the caller went away
      sent = status;
    }
    absl::MutexLock lock(&mu_);
    const auto changed = [this, seen_changes]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return changes_ != seen_changes; };
    mu_.AwaitWithTimeout(absl::Condition(&changed), options_.cancellation_check);
  }
  // Ended by the caller (or by the server cancelling it): its status is not seen by anyone.
  return grpc::Status(grpc::StatusCode::CANCELLED, "the watch ended");
}

}  // namespace pcusage
