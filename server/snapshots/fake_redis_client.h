// An in-memory RedisClient for tests: keys with expiry on an injected clock, the lock scripts' semantics, and
// switches that make every command fail (Redis down) or make GET answer garbage.
#ifndef PCUSAGE_SERVER_SNAPSHOTS_FAKE_REDIS_CLIENT_H_
#define PCUSAGE_SERVER_SNAPSHOTS_FAKE_REDIS_CLIENT_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/snapshots/redis_client.h"

namespace pcusage::snapshots {

class FakeRedisClient final : public RedisClient {
 public:
  explicit FakeRedisClient(std::function<absl::Time()> now = [] { return absl::Now(); }) : now_(std::move(now)) {}

  // Every command fails with UNAVAILABLE while set.
  void SetDown(bool down) {
    absl::MutexLock lock(&mu_);
    down_ = down;
  }
  // The value stored at `key` (nullopt: none or expired), and a way to put one there.
  std::optional<std::string> Peek(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return LiveLocked(key);
  }
  void Put(const std::string& key, std::string value, absl::Duration ttl = absl::InfiniteDuration()) {
    absl::MutexLock lock(&mu_);
    values_[key] = {std::move(value), now_() + ttl};
  }
  void Erase(const std::string& key) {
    absl::MutexLock lock(&mu_);
    values_.erase(key);
  }
  // The time to live left at `key`.
  std::optional<absl::Duration> Ttl(const std::string& key) {
    absl::MutexLock lock(&mu_);
    if (!LiveLocked(key).has_value()) return std::nullopt;
    return values_[key].expires - now_();
  }
  // The keys alive now, in order.
  std::vector<std::string> Keys() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> keys;
    for (auto it = values_.begin(); it != values_.end();) {
      const std::string key = it++->first;
      if (LiveLocked(key).has_value()) keys.push_back(key);
    }
    return keys;
  }
  int commands() {
    absl::MutexLock lock(&mu_);
    return commands_;
  }

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status up = Up(); !up.ok()) return up;
    return LiveLocked(key);
  }
  absl::StatusOr<bool> SetIfAbsent(const std::string& key, const std::string& value, absl::Duration ttl) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status up = Up(); !up.ok()) return up;
    if (LiveLocked(key).has_value()) return false;
    values_[key] = {value, now_() + ttl};
    return true;
  }
  absl::StatusOr<int64_t> Increment(const std::string& key) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status up = Up(); !up.ok()) return up;
    int64_t value = 0;
    if (std::optional<std::string> old = LiveLocked(key); old.has_value() && !absl::SimpleAtoi(*old, &value)) {
      return absl::UnavailableError("ERR value is not an integer");
    }
    values_[key] = {std::to_string(++value), absl::InfiniteFuture()};
    return value;
  }
  absl::StatusOr<bool> ExpireIfHolds(const std::string& key, const std::string& value, absl::Duration ttl) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status up = Up(); !up.ok()) return up;
    if (LiveLocked(key) != value) return false;
    values_[key].expires = now_() + ttl;
    return true;
  }
  absl::StatusOr<bool> DeleteIfHolds(const std::string& key, const std::string& value) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status up = Up(); !up.ok()) return up;
    if (LiveLocked(key) != value) return false;
    values_.erase(key);
    return true;
  }
  absl::StatusOr<bool> SetAndReleaseIfHolds(const std::string& lock_key, const std::string& lock_value,
                                            const std::string& key, const std::string& value,
                                            absl::Duration ttl) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status up = Up(); !up.ok()) return up;
    if (LiveLocked(lock_key) != lock_value) return false;
    values_[key] = {value, now_() + ttl};
    values_.erase(lock_key);
    return true;
  }

 private:
  struct Value {
    std::string value;
    absl::Time expires;
  };
  absl::Status Up() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++commands_;
    return down_ ? absl::UnavailableError("Redis: Connection refused") : absl::OkStatus();
  }
  std::optional<std::string> LiveLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    if (now_() >= it->second.expires) {
      values_.erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  const std::function<absl::Time()> now_;
  absl::Mutex mu_;
  std::map<std::string, Value> values_ ABSL_GUARDED_BY(mu_);
  bool down_ ABSL_GUARDED_BY(mu_) = false;
  int commands_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pcusage::snapshots

#endif  // PCUSAGE_SERVER_SNAPSHOTS_FAKE_REDIS_CLIENT_H_
