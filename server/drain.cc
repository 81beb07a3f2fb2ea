#include "server/drain.h"

#include "absl/time/clock.h"
#include "server/common/error_details.h"

namespace pcusage {

Drain::Call::Call(Drain& drain) : drain_(drain) {
  absl::MutexLock lock(&drain_.mu_);
  ++drain_.running_;
}

Drain::Call::~Call() {
  absl::MutexLock lock(&drain_.mu_);
  --drain_.running_;
}

void Drain::Begin(absl::Time deadline) {
  if (draining_.exchange(true)) return;
  deadline_unix_nanos_.store(absl::ToUnixNanos(deadline));
}

bool Drain::draining() const { return draining_.load(); }

bool Drain::Expired() const {
  const int64_t deadline = deadline_unix_nanos_.load(std::memory_order_relaxed);
  return deadline != kNotDraining && absl::ToUnixNanos(absl::Now()) >= deadline;
}

bool Drain::AwaitCallsEnded(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  const auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_ == 0; };
  return mu_.AwaitWithDeadline(absl::Condition(&ended), deadline);
}

int Drain::running_calls() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

absl::Status Drain::RefusedStatus() {
  return WithErrorInfo(absl::UnavailableError("the server is shutting down and takes no new calls; call another "
                                              "replica (or this one once it has restarted)"),
                       reason::kServerDraining);
}

absl::Status Drain::EndedStatus() {
  return WithErrorInfo(
      absl::UnavailableError("the server is shutting down and its --drain_timeout has passed; resume with the last "
                             "resume_token received, on another replica (or this one once it has restarted)"),
      reason::kServerDraining);
}

}  // namespace pcusage
