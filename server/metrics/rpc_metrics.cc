#include "server/metrics/rpc_metrics.h"

#include <string>
#include <utility>

#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "server/common/handoff_annotations.h"
#include "server/metrics/pcusage_metrics.h"

namespace pcusage::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

// One call: in progress from its creation until its status is sent. A call that was cancelled (by its caller, or
// refused by an interceptor) and answered OK, or that ends without a status sent, is counted as CANCELLED, as its
// caller saw it.
class CallCounter final : public grpc::experimental::Interceptor {
 public:
  explicit CallCounter(grpc::experimental::ServerRpcInfo* info) : info_(info), method_(info->method()) {
    RpcStarted(method_);
  }
  // gRPC runs a call's hooks, and destroys the interceptor, on its threads one at a time (handoff_annotations.h).
  ~CallCounter() override {
    TakenOver(this);
    if (!finished_) RpcFinished(method_, grpc::StatusCode::CANCELLED);
  }
  CallCounter(const CallCounter&) = delete;
  CallCounter& operator=(const CallCounter&) = delete;

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    TakenOver(this);
    if (!finished_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      finished_ = true;
      const grpc::StatusCode code = methods->GetSendStatus().error_code();
      const bool cancelled = code == grpc::StatusCode::OK && info_->server_context()->IsCancelled();
      RpcFinished(method_, cancelled ? grpc::StatusCode::CANCELLED : code);
    }
    HandedOff(this);
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;  // outlives the interceptor
  const std::string method_;
  bool finished_ = false;  // hooks of one call run one at a time
};

}  // namespace

grpc::experimental::Interceptor* RpcMetrics::CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) {
  return new CallCounter(info);
}

}  // namespace pcusage::metrics
