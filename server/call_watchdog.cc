#include "server/call_watchdog.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace pcusage {

CallWatchdog::CallWatchdog() : now_([] { return absl::Now(); }), thread_([this] { Run(); }) {}

CallWatchdog::CallWatchdog(std::function<absl::Time()> now) : now_(std::move(now)) {}

CallWatchdog::~CallWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<CallWatchdog::Watch> CallWatchdog::Start(grpc::ServerContext* context, absl::Time deadline) {
  return Start([context] { context->TryCancel(); }, deadline);
}

std::unique_ptr<CallWatchdog::Watch> CallWatchdog::Start(std::function<void()> cancel, absl::Time deadline) {
  std::unique_ptr<Watch> watch(new Watch(this, std::move(cancel)));
  absl::MutexLock lock(&mu_);
  if (watches_.empty() || deadline < watches_.begin()->first) earlier_deadline_ = true;
  watch->entry_ = watches_.emplace(deadline, watch.get());
  return watch;
}

CallWatchdog::Watch::~Watch() {
  absl::MutexLock lock(&watchdog_->mu_);
  if (!fired_.load()) watchdog_->watches_.erase(entry_);
}

int CallWatchdog::CancelExpired() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = now_();
  int cancelled = 0;
  while (!watches_.empty() && watches_.begin()->first <= now) {
    Watch* watch = watches_.begin()->second;
    watch->fired_.store(true);
    watch->cancel_();  // under mu_: the Watch, and so the call, is still alive
    watches_.erase(watches_.begin());
    ++cancelled;
  }
  return cancelled;
}

int CallWatchdog::watching() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(watches_.size());
}

void CallWatchdog::Run() {
  const auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || earlier_deadline_; };
  for (;;) {
    CancelExpired();
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    earlier_deadline_ = false;
    const absl::Time next = watches_.empty() ? absl::InfiniteFuture() : watches_.begin()->first;
    mu_.AwaitWithDeadline(absl::Condition(&wake), next);
  }
}

}  // namespace pcusage
