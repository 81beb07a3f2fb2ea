#include "server/callers/auxiliary_services_gate.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "server/common/log.h"

namespace pcusage::callers {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Admits one call when its metadata has arrived, holds its slot until the call is over, or cancels it.
class AuxiliaryCallInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuxiliaryCallInterceptor(grpc::experimental::ServerRpcInfo* info, std::shared_ptr<CallGate> gate, bool authenticate)
      : info_(info), gate_(std::move(gate)), authenticate_(authenticate) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) Admit();
    methods->Proceed();
  }

 private:
  void Admit() {
    grpc::ServerContextBase* context = info_->server_context();
    absl::StatusOr<AdmittedCall> admitted = authenticate_ ? gate_->Admit(*context) : gate_->AdmitAnyone();
    // A unary call (a health Check) ends as soon as it is answered: only streams need a slot, so that streams
    // filling the slots cannot fail a load balancer's checks.
    if (!admitted.ok() && info_->type() == grpc::experimental::ServerRpcInfo::Type::UNARY &&
        admitted.status().code() == absl::StatusCode::kResourceExhausted) {
      return;
    }
    if (admitted.ok()) {
      admitted_.emplace(*std::move(admitted));
      return;
    }
    LogWarning(info_->method(), " peer ", context->peer(), ": cancelled: ", admitted.status().message());
    context->TryCancel();
  }

  grpc::experimental::ServerRpcInfo* info_;
  std::shared_ptr<CallGate> gate_;
  const bool authenticate_;
  std::optional<AdmittedCall> admitted_;  // its slot is given back when the call ends and this is destroyed
};

}  // namespace

grpc::experimental::Interceptor* AuxiliaryServicesGate::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  if (absl::StartsWith(info->method(), kOwnMethodPrefix)) return nullptr;
  const bool health = absl::StartsWith(info->method(), "/grpc.health.v1.Health/");
  return new AuxiliaryCallInterceptor(info, gate_, !(health && open_health_checks_));
}

}  // namespace pcusage::callers
