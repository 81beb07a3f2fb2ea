// Cancels calls that outlive their time, whatever they are blocked on. A synchronous handler writing to a caller
// that stopped reading waits in ServerWriter::Write with no timeout of its own; the watchdog's TryCancel ends that
// wait, so --max_call_duration bounds every call. One background thread serves every call.
#ifndef PCUSAGE_SERVER_CALL_WATCHDOG_H_
#define PCUSAGE_SERVER_CALL_WATCHDOG_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"

namespace pcusage {

class CallWatchdog {
 public:
  // While alive, the call is cancelled once its deadline passes. Destroy it before the call's context goes away.
  class Watch {
   public:
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    // Whether the watchdog cancelled the call.
    bool fired() const { return fired_.load(); }

   private:
    friend class CallWatchdog;
    Watch(CallWatchdog* watchdog, std::function<void()> cancel) : watchdog_(watchdog), cancel_(std::move(cancel)) {}
    CallWatchdog* watchdog_;
    std::function<void()> cancel_;
    std::multimap<absl::Time, Watch*>::iterator entry_;
    std::atomic<bool> fired_{false};
  };

  // Real time, with a background thread that cancels calls as their deadlines pass.
  CallWatchdog();
  // For tests: time from `now`, and no thread (the test calls CancelExpired).
  explicit CallWatchdog(std::function<absl::Time()> now);
  ~CallWatchdog();
  CallWatchdog(const CallWatchdog&) = delete;
  CallWatchdog& operator=(const CallWatchdog&) = delete;

  // Cancels `context` (TryCancel) once `deadline` passes.
  std::unique_ptr<Watch> Start(grpc::ServerContext* context, absl::Time deadline);
  // Calls `cancel` once, from the watchdog's thread, once `deadline` passes.
  std::unique_ptr<Watch> Start(std::function<void()> cancel, absl::Time deadline);

  // Cancels every watched call whose deadline has passed; returns how many.
  int CancelExpired();

  // Calls being watched.
  int watching() const;

 private:
  void Run();

  const std::function<absl::Time()> now_;
  mutable absl::Mutex mu_;
  std::multimap<absl::Time, Watch*> watches_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool earlier_deadline_ ABSL_GUARDED_BY(mu_) = false;  // a watch added since the thread chose its wake-up time
  std::thread thread_;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_CALL_WATCHDOG_H_
