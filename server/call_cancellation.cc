#include "server/call_cancellation.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

namespace pcusage {

std::function<bool()> ThrottledCancellation(std::function<bool()> ask, absl::Duration interval,
                                            std::function<absl::Time()> now) {
  struct State {
    std::function<bool()> ask;
    int64_t interval_ns;
    std::function<absl::Time()> now;
    std::atomic<int64_t> next_ask_ns{INT64_MIN};
    std::atomic<bool> cancelled{false};
  };
  auto state = std::make_shared<State>();
  state->ask = std::move(ask);
  state->interval_ns = absl::ToInt64Nanoseconds(interval);
  state->now = std::move(now);
  return [state] {
    if (state->cancelled.load(std::memory_order_acquire)) return true;
    const int64_t now_ns = absl::ToUnixNanos(state->now());
    if (now_ns < state->next_ask_ns.load(std::memory_order_relaxed)) return false;
    state->next_ask_ns.store(now_ns + state->interval_ns, std::memory_order_relaxed);
    if (!state->ask()) return false;
    state->cancelled.store(true, std::memory_order_release);
    return true;
  };
}

}  // namespace pcusage
