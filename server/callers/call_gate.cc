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
    : active_(std::exchange(other.active_, nullptr)),
      caller_name_(std::move(other.caller_name_)),
      resume_identity_(std::move(other.resume_identity_)) {}

AdmittedCall::~AdmittedCall() {
  if (active_ != nullptr) active_->fetch_sub(1);
}

CallGate::CallGate(std::shared_ptr<const CallerAuthenticator> callers, int max_concurrent_streams)
    : callers_(std::move(callers)), max_concurrent_streams_(max_concurrent_streams) {}

absl::StatusOr<AdmittedCall> CallGate::Admit(const grpc::ServerContextBase& context) {
  absl::StatusOr<std::string> caller = callers_->Authenticate(CredentialsOf(context));
  if (!caller.ok()) return caller.status();
  return TakeSlot(*std::move(caller));
}

absl::StatusOr<AdmittedCall> CallGate::AdmitAnyone() { return TakeSlot("anonymous"); }

absl::StatusOr<AdmittedCall> CallGate::TakeSlot(std::string caller) {
  if (active_.fetch_add(1) >= max_concurrent_streams_) {
    active_.fetch_sub(1);
    return WithRetryInfo(WithErrorInfo(absl::ResourceExhaustedError(absl::StrCat(
                                           "the server is serving its maximum of ", max_concurrent_streams_,
                                           " concurrent streams (--max_concurrent_streams); retry shortly")),
                                       reason::kStreamLimitReached),
                         absl::Seconds(1));
  }
  std::string resume_identity = callers_->enabled() ? caller : "";
  return AdmittedCall(&active_, std::move(caller), std::move(resume_identity));
}

}  // namespace pcusage::callers
