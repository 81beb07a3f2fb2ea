// Cancels calls that outlive their time, whatever they are blocked on. A synchronous handler writing to a caller
// that stopped reading waits in ServerWriter::Write with no timeout of its own; the watchdog's TryCancel ends that
// wait, so --max_call_duration bounds every call.
#ifndef PCUSAGE_SERVER_CALL_WATCHDOG_H_
#define PCUSAGE_SERVER_CALL_WATCHDOG_H_

#include <atomic>
#include <cstdint>
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
  // While alive, the call's context is cancelled if `deadline` passes. Destroy it before the handler returns.
  class Watch {
   public:
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    // Whether the watchdog cancelled the call.
    bool fired() const { return fired_.load(); }

   private:
    friend class CallWatchdog;
    Watch(CallWatchdog* watchdog, grpc::ServerContext* context) : watchdog_(watchdog), context_(context) {}
    CallWatchdog* watchdog_;
    grpc::ServerContext* context_;
    std::multimap<absl::Time, Watch*>::iterator entry_;
    std::atomic<bool> fired_{false};
  };

  CallWatchdog();
  ~CallWatchdog();
  CallWatchdog(const CallWatchdog&) = delete;
  CallWatchdog& operator=(const CallWatchdog&) = delete;

  std::unique_ptr<Watch> Start(grpc::ServerContext* context, absl::Time deadline);

 private:
  void Run();

  absl::Mutex mu_;
  std::multimap<absl::Time, Watch*> watches_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_CALL_WATCHDOG_H_
