// The server's drain on SIGTERM/SIGINT: once begun, new calls are refused with UNAVAILABLE and running calls may go
// on until the drain deadline, when each is asked to end (with UNAVAILABLE, SERVER_DRAINING: its caller resumes from
// the last resume_token elsewhere). The service asks it; the server begins it and waits for the running calls.
// Thread safe; Expired() is cheap enough for libcurl's progress callback.
#ifndef PCUSAGE_SERVER_DRAIN_H_
#define PCUSAGE_SERVER_DRAIN_H_

#include <atomic>
#include <cstdint>
#include <limits>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pcusage {

class Drain {
 public:
  // Keeps a running call counted (AwaitCallsEnded) for as long as it lives.
  class Call {
   public:
    explicit Call(Drain& drain);
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

   private:
    Drain& drain_;
  };

  // Starts the drain, asking running calls to end at `deadline`. Only the first call counts.
  void Begin(absl::Time deadline);

  // Whether the drain has begun: new calls are refused.
  bool draining() const;
  // Whether the drain deadline has passed: running calls end now.
  bool Expired() const;

  // Blocks until no Call lives or `deadline` passes; whether every call ended.
  bool AwaitCallsEnded(absl::Time deadline) const;
  int running_calls() const;

  // The status of a call refused because the drain has begun, or cut short by its deadline.
  static absl::Status RefusedStatus();
  static absl::Status EndedStatus();

 private:
  static constexpr int64_t kNotDraining = std::numeric_limits<int64_t>::max();

  std::atomic<bool> draining_{false};
  std::atomic<int64_t> deadline_unix_nanos_{kNotDraining};
  mutable absl::Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_DRAIN_H_
