// RedisClient over a bounded pool of RedisConnections (redis_connection.h: plain or TLS, timeouts on connect, on
// every socket read and write and on each whole command, hiredis formatting commands and parsing replies), the lock
// scripts and the stream append as EVAL.
#include <arpa/inet.h>

#include <algorithm>
#include <csignal>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/common/host_port.h"
#include "server/snapshots/redis_client.h"
#include "server/snapshots/redis_connection.h"

namespace pcusage::snapshots {

absl::StatusOr<RedisAddress> ParseRedisUrl(absl::string_view url) {
  constexpr absl::string_view kForm = "a Redis snapshot store is redis://HOST:PORT[/DB] or rediss://HOST:PORT[/DB]";
  RedisAddress address;
  address.tls = absl::ConsumePrefix(&url, "rediss://");
  if (!address.tls && !absl::ConsumePrefix(&url, "redis://")) return absl::InvalidArgumentError(kForm);
  // Not echoed: what stands before an '@' may be a password.
  if (absl::StrContains(url, '@')) {
    return absl::InvalidArgumentError(
        "a user or password has no place in the Redis URL; put the password in --redis_password_file");
  }
  if (url.find_first_of("?#") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(kForm, ", with no query or fragment"));
  }
  if (const std::size_t slash = url.find('/'); slash != absl::string_view::npos) {
    if (!absl::SimpleAtoi(url.substr(slash + 1), &address.db) || address.db < 0) {
      return absl::InvalidArgumentError("the Redis database after '/' must be a number");
    }
    url = url.substr(0, slash);
  }
  absl::StatusOr<HostAndPort> parts = SplitHostPort(url);
  if (!parts.ok()) return absl::InvalidArgumentError(absl::StrCat(kForm, ": ", parts.status().message()));
  if (parts->host.empty()) return absl::InvalidArgumentError(kForm);
  in6_addr ipv6;
  if (parts->bracketed && inet_pton(AF_INET6, std::string(parts->host).c_str(), &ipv6) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(kForm, ": only an IPv6 address goes in brackets"));
  }
  if (!absl::SimpleAtoi(parts->port, &address.port) || address.port < 1 || address.port > 65535) {
    return absl::InvalidArgumentError("the Redis port must be 1..65535");
  }
  address.host = std::string(parts->host);
  return address;
}

namespace {

constexpr char kExpireIfHolds[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
constexpr char kDeleteIfHolds[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
constexpr char kSetAndReleaseIfHolds[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) "
    "redis.call('DEL', KEYS[1]) return 1 end return 0";
constexpr char kStreamAppend[] =
    "redis.call('XADD', KEYS[1], '*', 'v', ARGV[1]) return redis.call('PEXPIRE', KEYS[1], ARGV[2])";

std::string Millis(absl::Duration ttl) { return absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl))); }

using Reply = RedisReply;
using Connection = std::unique_ptr<RedisConnection>;

class HiredisClient final : public RedisClient {
 public:
  explicit HiredisClient(HiredisOptions options) : options_(std::move(options)) {
    connection_.host = options_.address.host;
    connection_.port = options_.address.port;
    if (options_.address.tls) {
      connection_.tls = options_.tls;
      if (connection_.tls == nullptr) {
        absl::StatusOr<std::shared_ptr<const RedisTlsContext>> tls = NewRedisTlsContext(RedisTlsOptions());
        if (tls.ok()) {
          connection_.tls = *std::move(tls);
        } else {
          tls_error_ = tls.status();
        }
      }
    }
    connection_.connect_timeout = options_.connect_timeout;
    connection_.command_timeout = options_.command_timeout;
    connection_.command_deadline = options_.command_deadline;
    connection_.max_reply_bytes = options_.max_reply_bytes;
  }

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) override {
    absl::StatusOr<Reply> reply = Run({"GET", key});
    if (!reply.ok()) return reply.status();
    if ((*reply)->type == REDIS_REPLY_NIL) return std::nullopt;
    if ((*reply)->type != REDIS_REPLY_STRING) return Unexpected("GET");
    return std::optional<std::string>(std::string((*reply)->str, (*reply)->len));
  }

  absl::StatusOr<std::optional<std::string>> GetPrefix(const std::string& key, std::size_t bytes) override {
    if (bytes == 0) return std::nullopt;
    absl::StatusOr<Reply> reply = Run({"GETRANGE", key, "0", absl::StrCat(bytes - 1)});
    if (!reply.ok()) return reply.status();
    if ((*reply)->type != REDIS_REPLY_STRING) return Unexpected("GETRANGE");
    if ((*reply)->len == 0) return std::nullopt;
    return std::optional<std::string>(std::string((*reply)->str, (*reply)->len));
  }

  absl::StatusOr<bool> SetIfAbsent(const std::string& key, const std::string& value, absl::Duration ttl) override {
    absl::StatusOr<Reply> reply = Run({"SET", key, value, "NX", "PX", Millis(ttl)});
    if (!reply.ok()) return reply.status();
    if ((*reply)->type == REDIS_REPLY_NIL) return false;
    if ((*reply)->type == REDIS_REPLY_STATUS && absl::string_view((*reply)->str, (*reply)->len) == "OK") return true;
    return Unexpected("SET NX");
  }

  absl::StatusOr<int64_t> Increment(const std::string& key) override {
    absl::StatusOr<Reply> reply = Run({"INCR", key});
    if (!reply.ok()) return reply.status();
    if ((*reply)->type != REDIS_REPLY_INTEGER) return Unexpected("INCR");
    return static_cast<int64_t>((*reply)->integer);
  }

  absl::StatusOr<int64_t> IncrementAndExpire(const std::string& key, absl::Duration ttl) override {
    static constexpr char kIncrementAndExpire[] =
        "local value = redis.call('INCR', KEYS[1]) redis.call('PEXPIRE', KEYS[1], ARGV[1]) return value";
    absl::StatusOr<Reply> reply = Run({"EVAL", kIncrementAndExpire, "1", key, Millis(ttl)});
    if (!reply.ok()) return reply.status();
    if ((*reply)->type != REDIS_REPLY_INTEGER) return Unexpected("EVAL");
    return static_cast<int64_t>((*reply)->integer);
  }

  absl::StatusOr<bool> ExpireIfHolds(const std::string& key, const std::string& value, absl::Duration ttl) override {
    return Script(kExpireIfHolds, {key}, {value, Millis(ttl)});
  }
  absl::StatusOr<bool> DeleteIfHolds(const std::string& key, const std::string& value) override {
    return Script(kDeleteIfHolds, {key}, {value});
  }
  absl::StatusOr<bool> SetAndReleaseIfHolds(const std::string& lock_key, const std::string& lock_value,
                                            const std::string& key, const std::string& value,
                                            absl::Duration ttl) override {
    return Script(kSetAndReleaseIfHolds, {lock_key, key}, {lock_value, value, Millis(ttl)});
  }
  absl::Status StreamAppend(const std::string& key, const std::string& value, absl::Duration ttl) override {
    return Script(kStreamAppend, {key}, {value, Millis(ttl)}).status();
  }

  absl::StatusOr<std::vector<StreamEntry>> StreamRead(const std::string& key, const std::string& after_id,
                                                      absl::Duration block, int max_entries) override {
    std::vector<std::string> argv = {"XREAD", "COUNT", absl::StrCat(std::max(1, max_entries))};
    block = std::min(block, options_.command_timeout / 2);
    if (block > absl::ZeroDuration() && !TakeBlockingSlot()) {
      absl::SleepFor(block);  // as long as a read with BLOCK would have waited, without holding a connection
      block = absl::ZeroDuration();
    }
    if (block > absl::ZeroDuration()) argv.insert(argv.end(), {"BLOCK", Millis(block)});
    argv.insert(argv.end(), {"STREAMS", key, after_id});
    absl::StatusOr<Reply> reply = Run(argv, block);  // Redis may hold the reply `block` on top of the deadline
    if (block > absl::ZeroDuration()) {
      absl::MutexLock lock(&mu_);
      --blocking_;
    }
    if (!reply.ok()) return reply.status();
    return StreamEntries(**reply);
  }

 private:
  static absl::Status Unexpected(absl::string_view command) {
    return absl::DataLossError(absl::StrCat("Redis answered ", command, " with an unexpected reply"));
  }

  // Whether a read may wait with BLOCK on a connection of the pool (then counted until it returns).
  bool TakeBlockingSlot() {
    absl::MutexLock lock(&mu_);
    if (blocking_ >= std::max(1, options_.max_connections / 2)) return false;
    ++blocking_;
    return true;
  }

  // The entries of an XREAD reply for one key: nil, or [[key, [[id, [field, value]], ...]]].
  absl::StatusOr<std::vector<StreamEntry>> StreamEntries(const redisReply& reply) const {
    std::vector<StreamEntry> entries;
    if (reply.type == REDIS_REPLY_NIL) return entries;
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 1) return Unexpected("XREAD");
    const redisReply& stream = *reply.element[0];
    if (stream.type != REDIS_REPLY_ARRAY || stream.elements != 2 || stream.element[1]->type != REDIS_REPLY_ARRAY) {
      return Unexpected("XREAD");
    }
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < stream.element[1]->elements; ++i) {
      const redisReply& entry = *stream.element[1]->element[i];
      if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2 || entry.element[0]->type != REDIS_REPLY_STRING ||
          entry.element[1]->type != REDIS_REPLY_ARRAY || entry.element[1]->elements != 2 ||
          entry.element[1]->element[1]->type != REDIS_REPLY_STRING) {
        return Unexpected("XREAD");
      }
      const redisReply& value = *entry.element[1]->element[1];
      bytes += value.len;
      if (bytes > options_.max_reply_bytes) return absl::DataLossError("Redis answered with more bytes than the bound");
      entries.push_back(
          StreamEntry{std::string(entry.element[0]->str, entry.element[0]->len), std::string(value.str, value.len)});
    }
    return entries;
  }

  absl::StatusOr<bool> Script(const char* script, const std::vector<std::string>& keys,
                              const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"EVAL", script, absl::StrCat(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<Reply> reply = Run(argv);
    if (!reply.ok()) return reply.status();
    if ((*reply)->type != REDIS_REPLY_INTEGER) return Unexpected("EVAL");
    return (*reply)->integer != 0;
  }

  // One command on a pooled connection (`wait`: RedisConnection::Command's); the connection is dropped after an I/O
  // or protocol error.
  absl::StatusOr<Reply> Run(const std::vector<std::string>& argv, absl::Duration wait = absl::ZeroDuration()) {
    absl::StatusOr<Connection> connection = Acquire();
    if (!connection.ok()) return connection.status();
    absl::StatusOr<Reply> reply = (*connection)->Command(argv, wait);
    if (!reply.ok()) {
      Release(nullptr);
      return reply.status();
    }
    Release(*std::move(connection));
    if ((*reply)->type == REDIS_REPLY_ERROR) {
      return absl::UnavailableError(
          absl::StrCat("Redis refused ", argv[0], ": ", absl::string_view((*reply)->str, (*reply)->len)));
    }
    if ((*reply)->type == REDIS_REPLY_STRING && (*reply)->len > options_.max_reply_bytes) {
      return absl::DataLossError("Redis answered with more bytes than the bound");
    }
    return reply;
  }

  absl::StatusOr<Connection> Acquire() {
    {
      absl::MutexLock lock(&mu_);
      const auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < options_.max_connections;
      };
      if (!mu_.AwaitWithTimeout(absl::Condition(&available), options_.command_timeout)) {
        return absl::DeadlineExceededError("every Redis connection is busy");
      }
      if (!idle_.empty()) {
        Connection connection = std::move(idle_.back());
        idle_.pop_back();
        return connection;
      }
      ++open_;
    }
    absl::StatusOr<Connection> connection = Connect();
    if (!connection.ok()) Release(nullptr);
    return connection;
  }

  // Gives a connection back (null: it was dropped).
  void Release(Connection connection) {
    absl::MutexLock lock(&mu_);
    if (connection == nullptr) {
      --open_;
    } else {
      idle_.push_back(std::move(connection));
    }
  }

  absl::StatusOr<Connection> Connect() const {
    if (!tls_error_.ok()) return absl::UnavailableError(absl::StrCat("Redis TLS: ", tls_error_.message()));
    absl::StatusOr<Connection> connection = RedisConnection::Open(connection_);
    if (!connection.ok()) return connection.status();
    const auto simple = [&connection](const std::vector<std::string>& argv) -> absl::Status {
      absl::StatusOr<Reply> reply = (*connection)->Command(argv);
      if (!reply.ok()) return reply.status();
      if ((*reply)->type == REDIS_REPLY_ERROR) {
        // The reply names the command only (AUTH's never echoes the password).
        return absl::UnavailableError(
            absl::StrCat("Redis refused ", argv[0], ": ", absl::string_view((*reply)->str, (*reply)->len)));
      }
      return absl::OkStatus();
    };
    if (!options_.password.empty()) {
      if (absl::Status auth = simple({"AUTH", options_.password}); !auth.ok()) return auth;
    }
    if (options_.address.db != 0) {
      if (absl::Status select = simple({"SELECT", absl::StrCat(options_.address.db)}); !select.ok()) return select;
    }
    return connection;
  }

  const HiredisOptions options_;
  RedisConnectionOptions connection_;
  absl::Status tls_error_;  // the default TLS context could not be made (then every connect fails with it)
  absl::Mutex mu_;
  std::vector<Connection> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;      // idle and in use
  int blocking_ ABSL_GUARDED_BY(mu_) = 0;  // in use by a stream read with BLOCK
};

}  // namespace

std::unique_ptr<RedisClient> NewHiredisClient(HiredisOptions options) {
  // OpenSSL writes to a TLS connection's socket with write(2), not send(MSG_NOSIGNAL): a Redis that closes the socket
  // under a write would otherwise kill the process with SIGPIPE. The server needs no SIGPIPE (gRPC and libcurl do
  // not rely on it).
  static const bool kSigpipeIgnored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
  (void)kSigpipeIgnored;
  return std::make_unique<HiredisClient>(std::move(options));
}

}  // namespace pcusage::snapshots
