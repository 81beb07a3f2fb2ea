// The server's edge for pcusage's own RPCs: every call is admitted here before any handler work. The caller is
// authenticated once (API key metadata, verified client certificate identities) and the call takes one of
// --max_concurrent_streams slots, and, when callers are authenticated, one of its caller's --max_streams_per_caller,
// so one caller cannot take every slot. Handlers work from the AdmittedCall it returns and cannot make one themselves,
// so a new RPC cannot skip caller authentication or the stream limit.
#ifndef PCUSAGE_SERVER_CALLERS_CALL_GATE_H_
#define PCUSAGE_SERVER_CALLERS_CALL_GATE_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"
#include "server/callers/caller_authenticator.h"

namespace pcusage::callers {

class CallGate;

// A call let in: who the caller is, and its stream slots, given back when this is destroyed. Move-only; must not
// outlive its CallGate.
class AdmittedCall {
 public:
  AdmittedCall(AdmittedCall&& other) noexcept;
  AdmittedCall& operator=(AdmittedCall&&) = delete;
  AdmittedCall(const AdmittedCall&) = delete;
  AdmittedCall& operator=(const AdmittedCall&) = delete;
  ~AdmittedCall();

  // For logs: the caller's typed identity ("key:<API key name>", "cert:<certificate identity>"), or "anonymous".
  const std::string& caller_name() const { return caller_name_; }
  // Whom the call's resume tokens are bound to: the caller's typed identity when callers are authenticated (so a key
  // and a certificate of the same name never share tokens), else empty.
  const std::string& resume_identity() const { return resume_identity_; }

 private:
  friend class CallGate;
  AdmittedCall(CallGate* gate, bool counted_per_caller, std::string caller_name, std::string resume_identity)
      : gate_(gate),
        counted_per_caller_(counted_per_caller),
        caller_name_(std::move(caller_name)),
        resume_identity_(std::move(resume_identity)) {}

  CallGate* gate_;  // null once moved from
  bool counted_per_caller_;
  std::string caller_name_;
  std::string resume_identity_;
};

class CallGate {
 public:
  // `max_concurrent_streams` must be positive; `max_streams_per_caller` bounds each authenticated caller's streams
  // (0: no bound but the total). Unauthenticated callers are all "anonymous", bounded by the total only.
  CallGate(std::shared_ptr<const CallerAuthenticator> callers, int max_concurrent_streams,
           int max_streams_per_caller = 0);

  // UNAUTHENTICATED (CALLER_UNAUTHENTICATED) for a caller not let in; RESOURCE_EXHAUSTED (STREAM_LIMIT_REACHED,
  // with a RetryInfo) when every stream slot is taken, or (CALLER_STREAM_LIMIT_REACHED) when the caller's are. The
  // caller is authenticated before a slot is taken, so unauthenticated callers cannot use up the slots.
  absl::StatusOr<AdmittedCall> Admit(const grpc::ServerContextBase& context);
  // The same without caller authentication (for services an operator chose to open to anyone): only the slot.
  absl::StatusOr<AdmittedCall> AdmitAnyone();

  // Streams admitted and not finished yet.
  int active_streams() const { return active_.load(); }
  bool callers_authenticated() const { return callers_->enabled(); }

 private:
  friend class AdmittedCall;
  absl::StatusOr<AdmittedCall> TakeSlot(std::string caller, bool authenticated);
  void Release(const std::string& caller, bool counted_per_caller);

  std::shared_ptr<const CallerAuthenticator> callers_;
  const int max_concurrent_streams_;
  const int max_streams_per_caller_;
  std::atomic<int> active_{0};
  absl::Mutex mu_;
  // Streams per authenticated caller; a caller with none has no entry, so the map holds at most
  // max_concurrent_streams entries.
  std::map<std::string, int> per_caller_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pcusage::callers

#endif  // PCUSAGE_SERVER_CALLERS_CALL_GATE_H_
