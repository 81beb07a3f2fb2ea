// The Redis commands the Redis-backed snapshot store (redis_snapshot_store.h) uses, and nothing else: a seam, so
// the store's logic is tested against FakeRedisClient (fake_redis_client.h) and runs against hiredis
// (NewHiredisClient below), over plain TCP or TLS. Every call is bounded in time: an unreachable, slow or garbled Redis
// is an error (UNAVAILABLE, DEADLINE_EXCEEDED or DATA_LOSS) the caller treats as "the cache is not there", never a
// hang.
#ifndef PCUSAGE_SERVER_SNAPSHOTS_REDIS_CLIENT_H_
#define PCUSAGE_SERVER_SNAPSHOTS_REDIS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pcusage::snapshots {

// One entry of a Redis stream: its id (increasing within the stream) and its value.
struct StreamEntry {
  std::string id;
  std::string value;
};

class RedisClient {
 public:
  virtual ~RedisClient() = default;

  // GET: the value, or nullopt when the key does not exist.
  virtual absl::StatusOr<std::optional<std::string>> Get(const std::string& key) = 0;
  // GETRANGE key 0 bytes-1: the value's first `bytes` bytes (all of it when shorter), or nullopt when the key does
  // not exist (or holds the empty string).
  virtual absl::StatusOr<std::optional<std::string>> GetPrefix(const std::string& key, std::size_t bytes) = 0;
  // SET key value NX PX ttl: whether the key was set (false: it already existed).
  virtual absl::StatusOr<bool> SetIfAbsent(const std::string& key, const std::string& value, absl::Duration ttl) = 0;
  // INCR: the new value (fencing tokens).
  virtual absl::StatusOr<int64_t> Increment(const std::string& key) = 0;
  // Atomically: INCR key, and PEXPIRE key ttl (the counter lives `ttl` after its last increment). The new value.
  virtual absl::StatusOr<int64_t> IncrementAndExpire(const std::string& key, absl::Duration ttl) = 0;
  // PEXPIRE key ttl, only while `key` holds `value` (renews a lock still ours): whether it did.
  virtual absl::StatusOr<bool> ExpireIfHolds(const std::string& key, const std::string& value, absl::Duration ttl) = 0;
  // DEL key, only while it holds `value` (releases a lock still ours): whether it did.
  virtual absl::StatusOr<bool> DeleteIfHolds(const std::string& key, const std::string& value) = 0;
  // Atomically, only while `lock_key` holds `lock_value`: SET key value PX ttl, and DEL lock_key. Whether it did
  // (false: the lock expired and may be another's, so nothing was written).
  virtual absl::StatusOr<bool> SetAndReleaseIfHolds(const std::string& lock_key, const std::string& lock_value,
                                                    const std::string& key, const std::string& value,
                                                    absl::Duration ttl) = 0;
  // Atomically: XADD key * v value, and PEXPIRE key ttl (the stream lives `ttl` after its last entry).
  virtual absl::Status StreamAppend(const std::string& key, const std::string& value, absl::Duration ttl) = 0;
  // XREAD COUNT max_entries BLOCK block STREAMS key after_id: at most `max_entries` entries after `after_id` ("0":
  // from the first), waiting at most about `block` for one when there is none (zero: not at all); empty when none
  // came (a missing key included). Never waits past the client's command timeout: a longer `block` is cut short.
  virtual absl::StatusOr<std::vector<StreamEntry>> StreamRead(const std::string& key, const std::string& after_id,
                                                              absl::Duration block, int max_entries) = 0;
};

// Where Redis is: `redis://HOST:PORT[/DB]`, or with TLS `rediss://HOST:PORT[/DB]`; an IPv6 HOST in brackets.
struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
  bool tls = false;  // rediss://
};
// Parses --snapshot_store's Redis URL. One with a user or password is refused without echoing it (the password
// belongs in --redis_password_file).
absl::StatusOr<RedisAddress> ParseRedisUrl(absl::string_view url);

// What a rediss:// connection trusts and shows, as PEM text (read from files by the caller; never logged).
struct RedisTlsOptions {
  std::string ca_pem;    // the authorities the server's certificate must chain to; empty: the system trust store
  std::string cert_pem;  // a client certificate (and its chain) for Redis's tls-auth-clients, with key_pem
  std::string key_pem;   // its unencrypted private key
};
// The OpenSSL client context every rediss:// connection of a client shares: TLS 1.2 at least, the server's
// certificate verified (chain, and the URL's host as DNS name or IP address; SNI sent for a DNS name).
class RedisTlsContext;
// Which input a NewRedisTlsContext error is about, so the caller can name its flag.
enum class RedisTlsInput { kCa, kCert, kKey };
// INVALID_ARGUMENT with OpenSSL's reason (never the key's bytes) when a PEM holds no usable certificate or key, the
// key does not match the certificate, or only one of them is given; `*bad_input` (when not null) says which.
absl::StatusOr<std::shared_ptr<const RedisTlsContext>> NewRedisTlsContext(const RedisTlsOptions& options,
                                                                          RedisTlsInput* bad_input = nullptr);

struct HiredisOptions {
  RedisAddress address;
  std::string password;  // AUTH on every new connection when not empty
  // With address.tls: the TLS context (NewRedisTlsContext); null: one trusting the system store, no client
  // certificate.
  std::shared_ptr<const RedisTlsContext> tls;
  // A connect gives up after connect_timeout, name resolution included (and a TLS handshake after as long again); a
  // command after command_timeout without progress on its socket (each read and write), and after command_deadline
  // in all however slowly its reply trickles in (DEADLINE_EXCEEDED; a stream read's `block` is added to it). 30 s lets
  // a 64 MiB snapshot through at about 2.2 MiB/s (18 Mbit/s).
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration command_timeout = absl::Seconds(1);
  absl::Duration command_deadline = absl::Seconds(30);
  // Connections open at once; a command waits at most command_timeout for one. Stream reads that wait (BLOCK) hold
  // at most half of them (at least one) at once; the others wait without a connection, then read without BLOCK.
  int max_connections = 8;
  // The largest reply accepted (a snapshot, mostly); larger is DATA_LOSS, and reading stops there.
  std::size_t max_reply_bytes = std::size_t{64} << 20;
};

// A thread-safe client over a bounded pool of connections (redis_connection.h: plain or TLS sockets of its own,
// hiredis formatting commands and parsing replies), each opened when first needed (a Redis that is down at start is
// not an error) and dropped after any error. Makes the process ignore SIGPIPE (OpenSSL writes to the socket with
// write(2); plain connections send with MSG_NOSIGNAL).
std::unique_ptr<RedisClient> NewHiredisClient(HiredisOptions options);

}  // namespace pcusage::snapshots

#endif  // PCUSAGE_SERVER_SNAPSHOTS_REDIS_CLIENT_H_
