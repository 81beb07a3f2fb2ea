// An in-memory RedisClient for tests: keys and streams with expiry on an injected clock, the lock scripts'
// semantics, stream reads that wait (in real time) for an append, and a switch that makes every command fail (Redis
// down).
#ifndef PCUSAGE_SERVER_SNAPSHOTS_FAKE_REDIS_CLIENT_H_
#define PCUSAGE_SERVER_SNAPSHOTS_FAKE_REDIS_CLIENT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
  // Redis restarted without persistence (or flushed): every key and stream is gone; stream ids go on increasing, as
  // Redis's time-based ones do.
  void Restart() {
    absl::MutexLock lock(&mu_);
    values_.clear();
    streams_.clear();
  }
  // Each GET waits this long (without holding the fake's lock) before reading: calls that overlap.
  void SetGetDelay(absl::Duration delay) {
    absl::MutexLock lock(&mu_);
    get_delay_ = delay;
  }
  // Replies larger than `bytes` are DATA_LOSS, as HiredisOptions::max_reply_bytes makes them: a GET's value, the sum
  // of an XREAD's values.
  void SetMaxReplyBytes(std::size_t bytes) {
    absl::MutexLock lock(&mu_);
    max_reply_bytes_ = bytes;
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
  // The keys alive now (strings and streams), in order.
  std::vector<std::string> Keys() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> keys;
    for (auto it = values_.begin(); it != values_.end();) {
      const std::string key = it++->first;
      if (LiveLocked(key).has_value()) keys.push_back(key);
    }
    for (auto it = streams_.begin(); it != streams_.end();) {
      const std::string key = it++->first;
      if (StreamLocked(key) != nullptr) keys.push_back(key);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  // The values of the stream at `key`, in order (none when it does not exist).
  std::vector<std::string> StreamValues(const std::string& key) {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> values;
    if (const Stream* stream = StreamLocked(key); stream != nullptr) {
      for (const auto& [id, value] : stream->entries) values.push_back(value);
    }
    return values;
  }
  int commands() {
    absl::MutexLock lock(&mu_);
    return commands_;
  }
  // How many GETs (whole values) `key` was asked for.
  int Gets(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return gets_[key];
  }

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) override {
    absl::Duration delay;
    {
      absl::MutexLock lock(&mu_);
      delay = get_delay_;
    }
    absl::SleepFor(delay);
    absl::MutexLock lock(&mu_);
    if (absl::Status up = Up(); !up.ok()) return up;
    ++gets_[key];
    std::optional<std::string> value = LiveLocked(key);
    if (value.has_value() && value->size() > max_reply_bytes_) return TooLarge();
    return value;
  }
  absl::StatusOr<std::optional<std::string>> GetPrefix(const std::string& key, std::size_t bytes) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status up = Up(); !up.ok()) return up;
    std::optional<std::string> value = LiveLocked(key);
    if (!value.has_value() || value->empty() || bytes == 0) return std::nullopt;
    return value->substr(0, bytes);
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
  absl::StatusOr<int64_t> IncrementAndExpire(const std::string& key, absl::Duration ttl) override {
    absl::StatusOr<int64_t> value = Increment(key);
    if (!value.ok()) return value;
    absl::MutexLock lock(&mu_);
    values_[key].expires = now_() + ttl;
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
  absl::Status StreamAppend(const std::string& key, const std::string& value, absl::Duration ttl) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status up = Up(); !up.ok()) return up;
    if (StreamLocked(key) == nullptr) streams_.erase(key);
    Stream& stream = streams_[key];
    stream.entries.emplace_back(++last_id_, value);
    stream.expires = now_() + ttl;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<StreamEntry>> StreamRead(const std::string& key, const std::string& after_id,
                                                      absl::Duration block, int max_entries) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status up = Up(); !up.ok()) return up;
    int64_t after = 0;
    if (!absl::SimpleAtoi(after_id.substr(0, after_id.find('-')), &after)) {
      return absl::UnavailableError("ERR Invalid stream ID");
    }
    const auto arrived = [this, &key, after]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      const Stream* stream = StreamLocked(key);
      return down_ || (stream != nullptr && !stream->entries.empty() && stream->entries.back().first > after);
    };
    mu_.AwaitWithTimeout(absl::Condition(&arrived), block);
    if (down_) return absl::UnavailableError("Redis: Connection reset by peer");
    std::vector<StreamEntry> entries;
    std::size_t bytes = 0;
    if (const Stream* stream = StreamLocked(key); stream != nullptr) {
      for (const auto& [id, value] : stream->entries) {
        if (id <= after) continue;
        if (static_cast<int>(entries.size()) == max_entries) break;
        entries.push_back(StreamEntry{absl::StrCat(id, "-0"), value});
        bytes += value.size();
      }
    }
    if (bytes > max_reply_bytes_) return TooLarge();
    return entries;
  }

 private:
  struct Stream {
    std::vector<std::pair<int64_t, std::string>> entries;
    absl::Time expires;
  };
  struct Value {
    std::string value;
    absl::Time expires;
  };
  absl::Status Up() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++commands_;
    return down_ ? absl::UnavailableError("Redis: Connection refused") : absl::OkStatus();
  }
  static absl::Status TooLarge() { return absl::DataLossError("Redis answered with more bytes than the bound"); }
  std::optional<std::string> LiveLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    if (now_() >= it->second.expires) {
      values_.erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }
  // The stream at `key` while it lives.
  const Stream* StreamLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = streams_.find(key);
    if (it == streams_.end() || now_() >= it->second.expires) return nullptr;
    return &it->second;
  }

  const std::function<absl::Time()> now_;
  absl::Mutex mu_;
  std::map<std::string, Value> values_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Stream> streams_ ABSL_GUARDED_BY(mu_);
  int64_t last_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool down_ ABSL_GUARDED_BY(mu_) = false;
  int commands_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int> gets_ ABSL_GUARDED_BY(mu_);
  absl::Duration get_delay_ ABSL_GUARDED_BY(mu_);
  std::size_t max_reply_bytes_ ABSL_GUARDED_BY(mu_) = std::numeric_limits<std::size_t>::max();
};

}  // namespace pcusage::snapshots

#endif  // PCUSAGE_SERVER_SNAPSHOTS_FAKE_REDIS_CLIENT_H_
