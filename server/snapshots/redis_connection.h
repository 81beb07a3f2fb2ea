// One connection to Redis, plain (redis://) or TLS (rediss://, OpenSSL): a non-blocking TCP socket whose every wait
// is a poll(2) bounded in time, an OpenSSL session on it for TLS, and hiredis only to format commands and parse
// replies (redisFormatCommandArgv, redisReader). One transport for both schemes, so the client's reply decoding
// (hiredis_client.cc) is one code path. Not thread-safe: one command at a time (the client's pool hands each
// connection to one caller).
//
// Time bounds. Open: name resolution and TCP connect together within connect_timeout, then the TLS handshake within
// connect_timeout again. Command: each socket wait within command_timeout (no progress), and the whole command
// (write and complete reply) within command_deadline plus the time Redis may legitimately hold the reply (XREAD
// BLOCK), however the bytes trickle in.
//
// Name resolution: an IP literal is parsed in place (getaddrinfo with AI_NUMERICHOST, which never asks a name
// service). A host name is resolved on a detached helper thread that Open waits for until the connect deadline, then
// gives up on (UNAVAILABLE); the thread finishes by itself whenever the resolver returns. At most
// kMaxPendingResolutions such threads exist in the process at once: past that, Open fails at once rather than start
// another, so a stuck resolver cannot pile up threads. Chosen over getaddrinfo_a (glibc's own threads, no bound of
// ours, requests that cannot be cancelled once running) and over a resolve-once cache (a Redis moved behind its DNS
// name would need a refresh policy, and the first resolution would still need this bound).
#ifndef PCUSAGE_SERVER_SNAPSHOTS_REDIS_CONNECTION_H_
#define PCUSAGE_SERVER_SNAPSHOTS_REDIS_CONNECTION_H_

#include <hiredis/hiredis.h>

#include <cstddef>
#include <functional>
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

// One TCP address of a host: a socket's family and protocol, and its sockaddr's bytes (sockaddr_in or sockaddr_in6).
struct ResolvedAddress {
  int family = 0;
  int protocol = 0;
  std::string sockaddr;
};
// Resolves a host name (never an IP literal) and port to its TCP addresses, blocking; UNAVAILABLE when it cannot.
using HostResolver = std::function<absl::StatusOr<std::vector<ResolvedAddress>>(const std::string& host, int port)>;
// The system's resolver (getaddrinfo).
absl::StatusOr<std::vector<ResolvedAddress>> SystemResolve(const std::string& host, int port);
// Resolutions of host names still running on helper threads (those Open gave up waiting for included), and their
// bound: Open fails at once instead of starting another past it.
int PendingResolutions();
inline constexpr int kMaxPendingResolutions = 4;

struct RedisConnectionOptions {
  std::string host;
  int port = 6379;
  // Set: TLS (rediss://), the server's certificate verified against the context's trust and `host`.
  std::shared_ptr<const RedisTlsContext> tls;
  // Name resolution and the TCP connect give up after connect_timeout (together), and so does the TLS handshake after
  // it.
  absl::Duration connect_timeout = absl::Milliseconds(500);
  // A command gives up after command_timeout without progress on its socket (each write and read)...
  absl::Duration command_timeout = absl::Seconds(1);
  // ... and after command_deadline in all (plus what Command's `wait` allows), however slowly the reply comes.
  absl::Duration command_deadline = absl::Seconds(30);
  // Resolves a host name that is not an IP literal; null: SystemResolve.
  HostResolver resolver;
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

  // Sends one command (binary-safe arguments) and reads its reply, which may be a Redis error reply. `wait`: how long
  // Redis may hold the reply by design (XREAD BLOCK's time), added to the command's deadline. Any error status
  // leaves the connection unusable (drop it): DEADLINE_EXCEEDED when the socket made no progress for command_timeout
  // or the command did not finish within command_deadline + wait, DATA_LOSS for a reply past max_reply_bytes or not
  // RESP, UNAVAILABLE when the connection broke.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& argv, absl::Duration wait = absl::ZeroDuration());

 private:
  RedisConnection(const RedisConnectionOptions& options, int fd);

  absl::Status Handshake();
  // Both wait at most command_timeout for the socket each time, and never past `deadline` (DEADLINE_EXCEEDED
  // `past_deadline`).
  absl::Status WriteAll(const char* data, std::size_t size, absl::Time deadline, absl::string_view past_deadline);
  // Reads what is there (at least one byte) into `buffer`.
  absl::StatusOr<std::size_t> ReadSome(char* buffer, std::size_t size, absl::Time deadline,
                                       absl::string_view past_deadline);
  absl::Status Broken(absl::string_view what) const;
  // After SSL_read or SSL_write returned `result` (not positive): the poll events to wait for before trying again, or
  // why the connection is broken.
  absl::StatusOr<short> TlsRetry(int result) const;  // NOLINT(google-runtime-int): poll's type
  // After send or recv failed (errno): `events` to wait for, 0 to try again at once, or why the connection is broken.
  absl::StatusOr<short> SocketRetry(short events) const;  // NOLINT(google-runtime-int)
  // Waits up to command_timeout for `events` (none: returns at once); DEADLINE_EXCEEDED `too_late` past it, or
  // `past_deadline` when `deadline` comes first.
  absl::Status WaitFor(short events, absl::string_view too_late, absl::Time deadline,  // NOLINT(google-runtime-int)
                       absl::string_view past_deadline) const;
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
