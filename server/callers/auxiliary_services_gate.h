// The standard gRPC services the server carries (reflection, health) pass an edge of their own: a server interceptor
// admits each of their calls through a CallGate (the same caller authentication as pcusage's RPCs, and a small
// number of stream slots of their own, --max_auxiliary_streams, which unary calls such as a health Check may go
// past), and cancels a call the gate refuses at once. So no
// stranger, and no more than that many streams, can hold a handler thread, and they never take the slots or threads
// of ListUsageRecords. A stream admitted is cancelled once it has run for its bound (AuxiliaryStreamDurations), so an
// idle one cannot keep its slot and thread forever. gRPC 1.51's server interceptors cannot answer with a status of
// their own: a refused or expired call ends CANCELLED, and the server's log says why. pcusage's own RPCs
// (kOwnMethodPrefix) are left to their handlers, which admit them through their own gate.
#ifndef PCUSAGE_SERVER_CALLERS_AUXILIARY_SERVICES_GATE_H_
#define PCUSAGE_SERVER_CALLERS_AUXILIARY_SERVICES_GATE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"
#include "server/callers/call_gate.h"

namespace pcusage::callers {

// Methods under this prefix are pcusage's own.
inline constexpr char kOwnMethodPrefix[] = "/partnercenter.usage.v1.";

// Log lines about refused calls, at most one a second with a count of those left out, so a flood of refused calls
// cannot flood the log.
class RefusalLog {
 public:
  void Refused(absl::string_view method, absl::string_view peer, absl::string_view why);

 private:
  absl::Mutex mu_;
  absl::Time last_logged_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t left_out_ ABSL_GUARDED_BY(mu_) = 0;
};

// How long an admitted stream may run before it is cancelled. A health Watch has a bound of its own: a gRPC client
// that checks health (grpc-go's and grpc-java's health-checking load balancing) keeps one Watch open per connection
// for the connection's life and marks the server unhealthy for a moment each time it ends. Reflection streams are
// meant for a person's grpcurl, so theirs is short. Each holds a handler thread (server/health_service.h).
struct AuxiliaryStreamDurations {
  absl::Duration stream = absl::Minutes(5);      // reflection, and any other stream but a health Watch
  absl::Duration health_watch = absl::Hours(1);  // grpc.health.v1.Health/Watch
};

// Calls `expire` once, from a thread of its own, when `deadline` passes, unless what it returned is destroyed
// first (server.cc passes a CallWatchdog's Start). The stream's context is alive while `expire` runs.
using StartTimer = std::function<std::shared_ptr<void>(std::function<void()> expire, absl::Time deadline)>;

class AuxiliaryServicesGate final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // With `open_health_checks`, grpc.health.v1.Health lets in callers who are not authenticated (load balancers and
  // Kubernetes probes send no API key), within the same slots.
  AuxiliaryServicesGate(std::shared_ptr<CallGate> gate, bool open_health_checks, AuxiliaryStreamDurations durations,
                        StartTimer start_timer)
      : gate_(std::move(gate)),
        open_health_checks_(open_health_checks),
        durations_(durations),
        start_timer_(std::move(start_timer)) {}

  // An interceptor for a call of another service; none (nullptr) for pcusage's own.
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  std::shared_ptr<CallGate> gate_;
  const bool open_health_checks_;
  const AuxiliaryStreamDurations durations_;
  const StartTimer start_timer_;
  RefusalLog refusals_;
};

}  // namespace pcusage::callers

#endif  // PCUSAGE_SERVER_CALLERS_AUXILIARY_SERVICES_GATE_H_
