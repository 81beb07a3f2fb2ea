#include "server/callers/auxiliary_services_gate.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/handoff_annotations.h"
#include "server/common/log.h"

namespace pcusage::callers {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Admits one call when its metadata has arrived, holds its slot until the call is over (a stream, until its
// duration bound at most), or cancels it.
class AuxiliaryCallInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuxiliaryCallInterceptor(grpc::experimental::ServerRpcInfo* info, std::shared_ptr<CallGate> gate, bool authenticate,
                           RefusalLog* refusals, absl::Duration max_duration, absl::string_view duration_flag,
                           const StartTimer* start_timer)
      : info_(info),
        gate_(std::move(gate)),
        authenticate_(authenticate),
        refusals_(refusals),
        max_duration_(max_duration),
        duration_flag_(duration_flag),
        start_timer_(start_timer) {}
  // gRPC runs a call's hooks, and destroys the interceptor, on its threads one at a time (handoff_annotations.h).
  ~AuxiliaryCallInterceptor() override { TakenOver(this); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    TakenOver(this);
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) Admit();
    // The slot is given back before the status goes out, so a caller that has seen its stream end can open another
    // at once; the timer goes first (see timer_).
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      timer_.reset();
      admitted_.reset();
    }
    HandedOff(this);
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
      if (info_->type() != grpc::experimental::ServerRpcInfo::Type::UNARY) {
        // Declared after admitted_, so destroyed first: the timer is gone before the slot is given back.
        timer_ = (*start_timer_)([this, context] { Expire(*context); }, absl::Now() + max_duration_);
      }
      return;
    }
    refusals_->Refused(info_->method(), context->peer(), admitted.status().message());
    context->TryCancel();
  }

  // On the timer's thread, while the call is alive.
  void Expire(grpc::ServerContextBase& context) {
    LogWarning(info_->method(), " peer ", context.peer(), " (", admitted_->caller_name(), "): cancelled after ",
               absl::FormatDuration(max_duration_), " (", duration_flag_, "), which frees its stream slot");
    context.TryCancel();
  }

  grpc::experimental::ServerRpcInfo* info_;
  std::shared_ptr<CallGate> gate_;
  const bool authenticate_;
  RefusalLog* refusals_;  // the factory's, which outlives every call
  const absl::Duration max_duration_;
  const absl::string_view duration_flag_;
  const StartTimer* start_timer_;         // the factory's
  std::optional<AdmittedCall> admitted_;  // its slot is given back when the call ends and this is destroyed
  std::shared_ptr<void> timer_;           // streams only: cancels the call at max_duration_
};

}  // namespace

void RefusalLog::Refused(absl::string_view method, absl::string_view peer, absl::string_view why) {
  int64_t left_out = 0;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now - last_logged_ < absl::Seconds(1)) {
      ++left_out_;
      return;
    }
    last_logged_ = now;
    left_out = std::exchange(left_out_, 0);
  }
  LogWarning(method, " peer ", peer, ": cancelled: ", why,
             left_out > 0 ? absl::StrCat(" (and ", left_out, " more refused since the last such line)") : "");
}

grpc::experimental::Interceptor* AuxiliaryServicesGate::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  if (absl::StartsWith(info->method(), kOwnMethodPrefix)) return nullptr;
  const bool health = absl::StartsWith(info->method(), "/grpc.health.v1.Health/");
  const bool watch = absl::string_view(info->method()) == "/grpc.health.v1.Health/Watch";
  return new AuxiliaryCallInterceptor(
      info, gate_, !(health && open_health_checks_), &refusals_, watch ? durations_.health_watch : durations_.stream,
      watch ? "--max_health_watch_duration" : "--max_auxiliary_stream_duration", &start_timer_);
}

}  // namespace pcusage::callers
