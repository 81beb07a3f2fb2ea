// ThreadSanitizer cannot see Debian's Abseil synchronize: libabsl_synchronization is built without TSan, so a lock,
// an unlock or a notification there is invisible to it, and every access an absl::Mutex guards looks like a race.
// This file, linked into TSan builds only (tools/tsan/BUILD), defines the Abseil functions that hand memory from one
// thread to another; the executable exports them (exports.lds), so they interpose the shared library's for every
// caller (gRPC's own mutexes included), call the library's original (dlsym RTLD_NEXT), and tell TSan the happens-before
// edge it implies: __tsan_release on the object before it is released or signalled, __tsan_acquire after it is
// acquired. A reader lock is annotated like a writer lock: each reader's unlock hands its thread's whole history to the
// next reader, so TSan may miss a race on memory no lock guards between two threads that take the same reader lock, and
// never reports a false one (this repository takes no reader locks). TSan does not know these mutexes as locks, so
// its lock-order (deadlock) detection does not cover them; Abseil's own detector still runs. A Condition is annotated
// as a critical section of its own (AcquiringCondition).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

// The shared library's definition of `symbol`, the next one after this executable's.
template <typename Function>
Function Original(const char* symbol) {
  void* function = dlsym(RTLD_NEXT, symbol);
  if (function == nullptr) {
    std::fprintf(stderr, "tools/tsan: %s is not in Abseil's shared library: %s\n", symbol, dlerror());
    std::abort();
  }
  return reinterpret_cast<Function>(function);
}

void* Address(const void* object) { return const_cast<void*>(object); }

// A condition evaluated as the critical section it is: Abseil evaluates it with the mutex held (by the waiter, or
// by another thread as it unlocks), so it acquires the mutex's earlier releases before it reads what the mutex
// guards, and releases after, for the next holder.
struct AcquiringCondition {
  const absl::Condition* condition;
  const absl::Mutex* mutex;

  static bool Eval(AcquiringCondition* self) {
    __tsan_acquire(Address(self->mutex));
    const bool holds = self->condition->Eval();
    __tsan_release(Address(self->mutex));
    return holds;
  }
};

// HasBeenNotified() is inline: an acquiring load of the flag that follows the notification's mutex, which the
// instrumented caller performs itself; Notify releases at that address too, so the load synchronizes with it.
static_assert(sizeof(absl::Notification) == sizeof(absl::Mutex) + alignof(absl::Mutex),
              "absl::Notification is no longer {Mutex, std::atomic<bool>}: revisit FlagOf");
void* FlagOf(const absl::Notification* notification) {
  return reinterpret_cast<char*>(Address(notification)) + sizeof(absl::Mutex);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

// The symbol names are those of the declarations in absl/synchronization/mutex.h and notification.h, in the inline
// namespace Debian's Abseil uses (ABSL_NAMESPACE_BEGIN); a missing one stops the program at its first use.
#define PCUSAGE_ABSL_NS_ "_ZN4absl7debian3"         // a member function's symbol, up to its class
#define PCUSAGE_ABSL_CONST_NS_ "_ZNK4absl7debian3"  // ... of a const member function

void Mutex::Lock() {
  static const auto original = Original<void (*)(Mutex*)>(PCUSAGE_ABSL_NS_ "5Mutex4LockEv");
  original(this);
  __tsan_acquire(this);
}

void Mutex::ReaderLock() {
  static const auto original = Original<void (*)(Mutex*)>(PCUSAGE_ABSL_NS_ "5Mutex10ReaderLockEv");
  original(this);
  __tsan_acquire(this);
}

bool Mutex::TryLock() {
  static const auto original = Original<bool (*)(Mutex*)>(PCUSAGE_ABSL_NS_ "5Mutex7TryLockEv");
  const bool locked = original(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

bool Mutex::ReaderTryLock() {
  static const auto original = Original<bool (*)(Mutex*)>(PCUSAGE_ABSL_NS_ "5Mutex13ReaderTryLockEv");
  const bool locked = original(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

void Mutex::Unlock() {
  static const auto original = Original<void (*)(Mutex*)>(PCUSAGE_ABSL_NS_ "5Mutex6UnlockEv");
  __tsan_release(this);
  original(this);
}

void Mutex::ReaderUnlock() {
  static const auto original = Original<void (*)(Mutex*)>(PCUSAGE_ABSL_NS_ "5Mutex12ReaderUnlockEv");
  __tsan_release(this);
  original(this);
}

void Mutex::LockWhen(const Condition& cond) {
  static const auto original =
      Original<void (*)(Mutex*, const Condition&)>(PCUSAGE_ABSL_NS_ "5Mutex8LockWhenERKNS0_9ConditionE");
  AcquiringCondition acquiring{&cond, this};
  original(this, Condition(&AcquiringCondition::Eval, &acquiring));
  __tsan_acquire(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static const auto original =
      Original<void (*)(Mutex*, const Condition&)>(PCUSAGE_ABSL_NS_ "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  AcquiringCondition acquiring{&cond, this};
  original(this, Condition(&AcquiringCondition::Eval, &acquiring));
  __tsan_acquire(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static const auto original = Original<bool (*)(Mutex*, const Condition&, Duration)>(
      PCUSAGE_ABSL_NS_ "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  AcquiringCondition acquiring{&cond, this};
  const bool met = original(this, Condition(&AcquiringCondition::Eval, &acquiring), timeout);
  __tsan_acquire(this);
  return met;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static const auto original = Original<bool (*)(Mutex*, const Condition&, Duration)>(
      PCUSAGE_ABSL_NS_ "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  AcquiringCondition acquiring{&cond, this};
  const bool met = original(this, Condition(&AcquiringCondition::Eval, &acquiring), timeout);
  __tsan_acquire(this);
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  static const auto original = Original<bool (*)(Mutex*, const Condition&, Time)>(
      PCUSAGE_ABSL_NS_ "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  AcquiringCondition acquiring{&cond, this};
  const bool met = original(this, Condition(&AcquiringCondition::Eval, &acquiring), deadline);
  __tsan_acquire(this);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  static const auto original = Original<bool (*)(Mutex*, const Condition&, Time)>(
      PCUSAGE_ABSL_NS_ "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  AcquiringCondition acquiring{&cond, this};
  const bool met = original(this, Condition(&AcquiringCondition::Eval, &acquiring), deadline);
  __tsan_acquire(this);
  return met;
}

void Mutex::Await(const Condition& cond) {
  static const auto original =
      Original<void (*)(Mutex*, const Condition&)>(PCUSAGE_ABSL_NS_ "5Mutex5AwaitERKNS0_9ConditionE");
  AcquiringCondition acquiring{&cond, this};
  __tsan_release(this);
  original(this, Condition(&AcquiringCondition::Eval, &acquiring));
  __tsan_acquire(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  static const auto original = Original<bool (*)(Mutex*, const Condition&, Duration)>(
      PCUSAGE_ABSL_NS_ "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  AcquiringCondition acquiring{&cond, this};
  __tsan_release(this);
  const bool met = original(this, Condition(&AcquiringCondition::Eval, &acquiring), timeout);
  __tsan_acquire(this);
  return met;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  static const auto original = Original<bool (*)(Mutex*, const Condition&, Time)>(
      PCUSAGE_ABSL_NS_ "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  AcquiringCondition acquiring{&cond, this};
  __tsan_release(this);
  const bool met = original(this, Condition(&AcquiringCondition::Eval, &acquiring), deadline);
  __tsan_acquire(this);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  static const auto original = Original<void (*)(CondVar*, Mutex*)>(PCUSAGE_ABSL_NS_ "7CondVar4WaitEPNS0_5MutexE");
  __tsan_release(mu);
  original(this, mu);
  __tsan_acquire(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  static const auto original = Original<bool (*)(CondVar*, Mutex*, Duration)>(
      PCUSAGE_ABSL_NS_ "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  __tsan_release(mu);
  const bool timed_out = original(this, mu, timeout);
  __tsan_acquire(mu);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static const auto original =
      Original<bool (*)(CondVar*, Mutex*, Time)>(PCUSAGE_ABSL_NS_ "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  __tsan_release(mu);
  const bool timed_out = original(this, mu, deadline);
  __tsan_acquire(mu);
  return timed_out;
}

void Notification::Notify() {
  static const auto original = Original<void (*)(Notification*)>(PCUSAGE_ABSL_NS_ "12Notification6NotifyEv");
  __tsan_release(this);
  __tsan_release(FlagOf(this));
  original(this);
}

void Notification::WaitForNotification() const {
  static const auto original =
      Original<void (*)(const Notification*)>(PCUSAGE_ABSL_CONST_NS_ "12Notification19WaitForNotificationEv");
  original(this);
  __tsan_acquire(Address(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  static const auto original = Original<bool (*)(const Notification*, Duration)>(
      PCUSAGE_ABSL_CONST_NS_ "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = original(this, timeout);
  if (notified) __tsan_acquire(Address(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  static const auto original = Original<bool (*)(const Notification*, Time)>(
      PCUSAGE_ABSL_CONST_NS_ "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = original(this, deadline);
  if (notified) __tsan_acquire(Address(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
