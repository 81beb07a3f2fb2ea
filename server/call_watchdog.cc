#include "server/call_watchdog.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace pcusage {

CallWatchdog::CallWatchdog() : thread_([this] { Run(); }) {}

CallWatchdog::~CallWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

std::unique_ptr<CallWatchdog::Watch> CallWatchdog::Start(grpc::ServerContext* context, absl::Time deadline) {
  std::unique_ptr<Watch> watch(new Watch(this, context));
  absl::MutexLock lock(&mu_);
  watch->entry_ = watches_.emplace(deadline, watch.get());
  return watch;
}

CallWatchdog::Watch::~Watch() {
  absl::MutexLock lock(&watchdog_->mu_);
  if (!fired_.load()) watchdog_->watches_.erase(entry_);
}

void CallWatchdog::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    while (!watches_.empty() && watches_.begin()->first <= now) {
      Watch* watch = watches_.begin()->second;
      watch->context_->TryCancel();  // under mu_: the Watch, and so the call, is still alive
      watch->fired_.store(true);
      watches_.erase(watches_.begin());
    }
    const absl::Time next = watches_.empty() ? now + absl::Seconds(1) : watches_.begin()->first;
    // Wakes for a stop or at the next deadline; a watch added meanwhile waits at most a second.
    mu_.AwaitWithDeadline(absl::Condition(&stopping_), std::min(next, now + absl::Seconds(1)));
  }
}

}  // namespace pcusage
