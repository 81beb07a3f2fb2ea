// Time for tests of code that waits through an http::Sleeper: FakeSleeper's clock moves only when the code under
// test sleeps (or the test advances it), so retry and deadline tests run instantly and deterministically.
#ifndef PCUSAGE_TESTS_TESTING_FAKE_SLEEPER_H_
#define PCUSAGE_TESTS_TESTING_FAKE_SLEEPER_H_

#include <functional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/http/retry_policy.h"

namespace pcusage::testing_util {

// A clock that starts at a fixed instant and advances by exactly what is slept. Thread safe.
class FakeSleeper : public http::Sleeper {
 public:
  explicit FakeSleeper(absl::Time start = absl::FromUnixSeconds(1700000000)) : now_(start) {}

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  // Records `duration`, advances the clock by it, and reports whether the wait ended uncancelled.
  bool Sleep(absl::Duration duration, const std::function<bool()>& is_cancelled) override {
    {
      absl::MutexLock lock(&mu_);
      sleeps_.push_back(duration);
      now_ += duration;
    }
    return !(is_cancelled && is_cancelled());
  }
  void Advance(absl::Duration duration) {
    absl::MutexLock lock(&mu_);
    now_ += duration;
  }
  std::vector<absl::Duration> sleeps() {
    absl::MutexLock lock(&mu_);
    return sleeps_;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> sleeps_ ABSL_GUARDED_BY(mu_);
};

// Real time that never waits: retries happen at once, deadlines are the real clock's.
class InstantSleeper : public http::Sleeper {
 public:
  absl::Time Now() override { return absl::Now(); }
  bool Sleep(absl::Duration, const std::function<bool()>& is_cancelled) override {
    return !(is_cancelled && is_cancelled());
  }
};

}  // namespace pcusage::testing_util

#endif  // PCUSAGE_TESTS_TESTING_FAKE_SLEEPER_H_
