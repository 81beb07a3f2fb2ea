// One connection to Redis, plain (redis://) or TLS (rediss://, OpenSSL): a non-blocking TCP socket whose every wait
// is a poll(2) bounded in time, an OpenSSL session on it for TLS, and hiredis only to format commands and parse
// replies (redisFormatCommandArgv, redisReader). One transport for both schemes, so the client's reply decoding
// (hiredis_client.cc) is one code path. Not thread-safe: one command at a time (the client's pool hands each
// connection to one caller).
#ifndef PCUSAGE_SERVER_SNAPSHOTS_REDIS_CONNECTION_H_
#define PCUSAGE_SERVER_SNAPSHOTS_REDIS_CONNECTION_H_

#include <hiredis/hiredis.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/snapshots/redis_client.h"

struct ssl_st;

namespace pcusage::snapshots {

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using RedisReply = std::unique_ptr<redisReply, ReplyDeleter>;

struct RedisConnectionOptions {
  std::string host;
  int port = 6379;
  // Set: TLS (rediss://), the server's certificate verified against the context's trust and `host`.
  std::shared_ptr<const RedisTlsContext> tls;
  // The TCP connect gives up after connect_timeout, and so does the TLS handshake after it.
  absl::Duration connect_timeout = absl::Milliseconds(500);
  // A command gives up after command_timeout without progress on its socket (each write and read).
  absl::Duration command_timeout = absl::Seconds(1);
  // The reply's bytes on the wire are read up to this bound plus a little framing, and no further.
  std::size_t max_reply_bytes = std::size_t{64} << 20;
};

class RedisConnection {
 public:
  // Connects (and for TLS, completes the handshake). UNAVAILABLE naming HOST:PORT and the reason when it cannot:
  // refused, unreachable, timed out, or a failed TLS handshake ("Redis TLS handshake with HOST:PORT failed: ...").
  static absl::StatusOr<std::unique_ptr<RedisConnection>> Open(const RedisConnectionOptions& options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command (binary-safe arguments) and reads its reply, which may be a Redis error reply. Any error
  // status leaves the connection unusable (drop it): DEADLINE_EXCEEDED when the socket made no progress for
  // command_timeout, DATA_LOSS for a reply past max_reply_bytes or not RESP, UNAVAILABLE when the connection broke.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& argv);

 private:
  RedisConnection(const RedisConnectionOptions& options, int fd);

  absl::Status Handshake();
  absl::Status WriteAll(const char* data, std::size_t size);
  // Reads what is there (at least one byte, waiting at most command_timeout for it) into `buffer`.
  absl::StatusOr<std::size_t> ReadSome(char* buffer, std::size_t size);
  absl::Status Broken(absl::string_view what) const;
  // After SSL_read or SSL_write returned `result` (not positive): the poll events to wait for before trying again, or
  // why the connection is broken.
  absl::StatusOr<short> TlsRetry(int result) const;  // NOLINT(google-runtime-int): poll's type
  // After send or recv failed (errno): `events` to wait for, 0 to try again at once, or why the connection is broken.
  absl::StatusOr<short> SocketRetry(short events) const;  // NOLINT(google-runtime-int)
  // Waits up to command_timeout for `events` (none: returns at once); DEADLINE_EXCEEDED `too_late` past it.
  absl::Status WaitFor(short events, absl::string_view too_late) const;  // NOLINT(google-runtime-int)
  std::string CertificateRequestNote() const;

  const RedisConnectionOptions options_;
  const std::string peer_;  // HOST:PORT, for messages
  int fd_;
  ssl_st* ssl_ = nullptr;
  bool certificate_requested_ = false;  // Redis asked for a client certificate and there is none
  redisReader* reader_;
};

}  // namespace pcusage::snapshots

#endif  // PCUSAGE_SERVER_SNAPSHOTS_REDIS_CONNECTION_H_
