#include "server/callers/call_gate.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/common/error_details.h"

namespace pcusage::callers {
namespace {

// The caller's API key and verified client certificate identities, for the CallerAuthenticator.
CallerCredentials CredentialsOf(const grpc::ServerContextBase& context) {
  CallerCredentials caller;
  const auto& metadata = context.client_metadata();
  if (auto key = metadata.find(kApiKeyMetadata); key != metadata.end()) {
    caller.api_key = std::string(key->second.data(), key->second.size());
  }
  if (std::shared_ptr<const grpc::AuthContext> auth_context = context.auth_context();
      auth_context != nullptr && auth_context->IsPeerAuthenticated()) {
    for (const char* property : {"x509_common_name", "x509_subject_alternative_name"}) {
      for (const grpc::string_ref& value : auth_context->FindPropertyValues(property)) {
        caller.certificate_identities.emplace_back(value.data(), value.size());
      }
    }
  }
  return caller;
}

}  // namespace

AdmittedCall::AdmittedCall(AdmittedCall&& other) noexcept
    : gate_(std::exchange(other.gate_, nullptr)),
      counted_per_caller_(other.counted_per_caller_),
      caller_name_(std::move(other.caller_name_)),
      resume_identity_(std::move(other.resume_identity_)) {}

AdmittedCall::~AdmittedCall() {
  if (gate_ != nullptr) gate_->Release(caller_name_, counted_per_caller_);
}

CallGate::CallGate(std::shared_ptr<const CallerAuthenticator> callers, int max_concurrent_streams,
                   int max_streams_per_caller)
    : callers_(std::move(callers)),
      max_concurrent_streams_(max_concurrent_streams),
      max_streams_per_caller_(max_streams_per_caller) {}

absl::StatusOr<AdmittedCall> CallGate::Admit(const grpc::ServerContextBase& context) {
  absl::StatusOr<std::string> caller = callers_->Authenticate(CredentialsOf(context));
  if (!caller.ok()) return caller.status();
  return TakeSlot(*std::move(caller), callers_->enabled());
}

absl::StatusOr<AdmittedCall> CallGate::AdmitAnyone() { return TakeSlot("anonymous", false); }

absl::StatusOr<AdmittedCall> CallGate::TakeSlot(std::string caller, bool authenticated) {
  if (active_.fetch_add(1) >= max_concurrent_streams_) {
    active_.fetch_sub(1);
    return WithRetryInfo(WithErrorInfo(absl::ResourceExhaustedError(absl::StrCat(
                                           "the server is serving its maximum of ", max_concurrent_streams_,
                                           " concurrent streams (--max_concurrent_streams); retry shortly")),
                                       reason::kStreamLimitReached),
                         absl::Seconds(1));
  }
  const bool per_caller = authenticated && max_streams_per_caller_ > 0;
  if (per_caller) {
    absl::MutexLock lock(&mu_);
    int& streams = per_caller_[caller];
    if (streams >= max_streams_per_caller_) {
      active_.fetch_sub(1);
      return WithRetryInfo(
          WithErrorInfo(absl::ResourceExhaustedError(
                            absl::StrCat("this caller already has its maximum of ", max_streams_per_caller_,
                                         " concurrent streams (--max_streams_per_caller); retry when one has ended")),
                        reason::kCallerStreamLimitReached),
          absl::Seconds(1));
    }
    ++streams;
  }
  std::string resume_identity = callers_->enabled() ? caller : "";
  return AdmittedCall(this, per_caller, std::move(caller), std::move(resume_identity));
}

void CallGate::Release(const std::string& caller, bool counted_per_caller) {
  if (counted_per_caller) {
    absl::MutexLock lock(&mu_);
    if (auto it = per_caller_.find(caller); it != per_caller_.end() && --it->second <= 0) per_caller_.erase(it);
  }
  active_.fetch_sub(1);
}

}  // namespace pcusage::callers
