#include "server/snapshots/redis_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/common/host_port.h"

namespace pcusage::snapshots {

// Owns the SSL_CTX.
class RedisTlsContext {
 public:
  explicit RedisTlsContext(SSL_CTX* context) : context_(context) {}
  ~RedisTlsContext() { SSL_CTX_free(context_); }
  RedisTlsContext(const RedisTlsContext&) = delete;
  RedisTlsContext& operator=(const RedisTlsContext&) = delete;
  SSL_CTX* get() const { return context_; }

 private:
  SSL_CTX* const context_;
};

namespace {

// Framing a reply may add to its payload (lengths, types, stream entry ids) before max_reply_bytes stops a read.
constexpr std::size_t kFramingAllowance = std::size_t{64} << 10;

// The reason of OpenSSL's earliest queued error ("certificate verify failed"), and the queue emptied. Reason strings
// are OpenSSL's constants: no certificate or key bytes.
std::string OpenSslReason() {
  const unsigned long first = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  ERR_clear_error();
  if (first == 0) return "unknown TLS error";
  if (const char* reason = ERR_reason_error_string(first); reason != nullptr) return reason;
  char text[256];
  ERR_error_string_n(first, text, sizeof(text));
  return text;
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Certificate = std::unique_ptr<X509, X509Deleter>;

Bio MemoryBio(const std::string& pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

// Every certificate of a PEM text, in order; INVALID_ARGUMENT when there is none or one is broken.
absl::StatusOr<std::vector<Certificate>> ReadCertificates(const std::string& pem) {
  ERR_clear_error();
  Bio bio = MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("no memory for a PEM reader");
  std::vector<Certificate> certificates;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certificates.emplace_back(cert);
  const unsigned long last = ERR_peek_last_error();  // NOLINT(google-runtime-int): OpenSSL's type
  // The read past the last certificate ends with "no start line"; anything else is a broken certificate.
  if (last != 0 && !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    return absl::InvalidArgumentError(absl::StrCat("not a valid PEM certificate: ", OpenSslReason()));
  }
  ERR_clear_error();
  if (certificates.empty()) return absl::InvalidArgumentError("holds no PEM certificate");
  return certificates;
}

// Never prompts for a passphrase (an encrypted key is refused instead).
int NoPassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return 0; }

// Called by OpenSSL when Redis asks for a client certificate and the context has none: notes it (the connection's
// flag is the SSL's app data) for the error that follows when Redis requires one (tls-auth-clients yes), and goes on
// without.
int NoteCertificateRequest(SSL* ssl, X509** /*cert*/, EVP_PKEY** /*key*/) {
  if (auto* requested = static_cast<bool*>(SSL_get_app_data(ssl)); requested != nullptr) *requested = true;
  return 0;
}

absl::Status Fail(RedisTlsInput input, RedisTlsInput* bad_input, absl::Status status) {
  if (bad_input != nullptr) *bad_input = input;
  return status;
}

// Milliseconds to `deadline` for poll(2), rounded up, at least 0.
int PollMillis(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), INT_MAX));
}

// Waits until `fd` is ready for `events` (or has an error the next call reports) or `deadline` passes.
absl::Status PollFor(int fd, short events, absl::Time deadline) {  // NOLINT(google-runtime-int): poll's type
  for (;;) {
    pollfd entry{fd, events, 0};
    const int ready = poll(&entry, 1, PollMillis(deadline));
    if (ready > 0) return absl::OkStatus();
    if (ready == 0) return absl::DeadlineExceededError("timed out");
    if (errno != EINTR) return absl::UnavailableError(absl::StrCat("poll: ", std::strerror(errno)));
  }
}

struct AddrinfoDeleter {
  void operator()(addrinfo* addresses) const { freeaddrinfo(addresses); }
};

// getaddrinfo for TCP, its answers as ResolvedAddresses; `flags` beside AI_NUMERICSERV.
absl::StatusOr<std::vector<ResolvedAddress>> GetAddresses(const std::string& host, int port, int flags) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | flags;
  addrinfo* found = nullptr;
  if (const int resolved = getaddrinfo(host.c_str(), absl::StrCat(port).c_str(), &hints, &found); resolved != 0) {
    return absl::UnavailableError(absl::StrCat("Redis ", JoinHostPort(host, port), ": ", gai_strerror(resolved)));
  }
  const std::unique_ptr<addrinfo, AddrinfoDeleter> owned(found);
  std::vector<ResolvedAddress> addresses;
  for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
    addresses.push_back({address->ai_family, address->ai_protocol,
                         std::string(reinterpret_cast<const char*>(address->ai_addr), address->ai_addrlen)});
  }
  return addresses;
}

// The resolutions running on helper threads, process-wide (never destroyed: a detached thread may end after main).
struct Resolutions {
  absl::Mutex mu;
  int pending ABSL_GUARDED_BY(mu) = 0;
};
Resolutions& PendingResolutionsState() {
  static auto* const kState = new Resolutions;
  return *kState;
}

// One resolution's answer, shared by the helper thread and the Open waiting for it.
struct Resolution {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  absl::StatusOr<std::vector<ResolvedAddress>> addresses ABSL_GUARDED_BY(mu);
};

// `host`'s addresses by `resolver`, on a helper thread, waited for until `deadline`.
absl::StatusOr<std::vector<ResolvedAddress>> ResolveWithin(const std::string& host, int port, HostResolver resolver,
                                                           absl::Time deadline, absl::Duration timeout) {
  const std::string peer = JoinHostPort(host, port);
  Resolutions& state = PendingResolutionsState();
  {
    absl::MutexLock lock(&state.mu);
    if (state.pending >= kMaxPendingResolutions) {
      return absl::UnavailableError(absl::StrCat("Redis ", peer, ": name resolution not started, ", state.pending,
                                                 " earlier ones are still pending (a slow resolver)"));
    }
    ++state.pending;
  }
  auto resolution = std::make_shared<Resolution>();
  try {
    std::thread([resolution, resolver = std::move(resolver), host, port] {
      absl::StatusOr<std::vector<ResolvedAddress>> addresses = resolver(host, port);
      {
        Resolutions& state = PendingResolutionsState();
        absl::MutexLock lock(&state.mu);
        --state.pending;  // before the answer: no longer pending once an Open can see it
      }
      absl::MutexLock lock(&resolution->mu);
      resolution->addresses = std::move(addresses);
      resolution->done = true;
    }).detach();
  } catch (const std::system_error& error) {  // no thread to be had
    absl::MutexLock lock(&state.mu);
    --state.pending;
    return absl::UnavailableError(absl::StrCat("Redis ", peer, ": no thread for name resolution: ", error.what()));
  }
  absl::MutexLock lock(&resolution->mu);
  if (!resolution->mu.AwaitWithDeadline(absl::Condition(&resolution->done), deadline)) {
    return absl::UnavailableError(
        absl::StrCat("Redis ", peer, ": name resolution took longer than ", absl::FormatDuration(timeout)));
  }
  return resolution->addresses;
}

// A non-blocking TCP socket connected to one of `host`'s addresses within `timeout`, name resolution included.
absl::StatusOr<int> ConnectTcp(const std::string& host, int port, absl::Duration timeout,
                               const HostResolver& resolver) {
  const std::string peer = JoinHostPort(host, port);
  const absl::Time deadline = absl::Now() + timeout;
  // An IP literal never reaches a resolver: AI_NUMERICHOST only parses.
  absl::StatusOr<std::vector<ResolvedAddress>> addresses = GetAddresses(host, port, AI_NUMERICHOST);
  if (!addresses.ok()) {
    addresses =
        ResolveWithin(host, port, resolver != nullptr ? resolver : HostResolver(SystemResolve), deadline, timeout);
  }
  if (!addresses.ok()) return addresses.status();
  std::string error = "no address";
  for (const ResolvedAddress& address : *addresses) {
    sockaddr_storage storage{};
    if (address.sockaddr.size() > sizeof(storage)) continue;
    std::memcpy(&storage, address.sockaddr.data(), address.sockaddr.size());
    const int fd = socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, address.protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int failure = 0;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&storage), static_cast<socklen_t>(address.sockaddr.size())) !=
        0) {
      failure = errno;
      if (failure == EINPROGRESS) {
        if (absl::Status waited = PollFor(fd, POLLOUT, deadline); !waited.ok()) {
          close(fd);
          return absl::UnavailableError(absl::StrCat("Redis ", peer, ": connect ", waited.message()));
        }
        socklen_t size = sizeof(failure);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &size) != 0) failure = errno;
      }
    }
    if (failure == 0) {
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return fd;
    }
    error = std::strerror(failure);
    close(fd);
  }
  return absl::UnavailableError(absl::StrCat("Redis ", peer, ": ", error));
}

bool IsIpAddress(const std::string& host) {
  in6_addr address;
  return inet_pton(AF_INET, host.c_str(), &address) == 1 || inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

}  // namespace

namespace {

// Adds the CAs of `pem` to the context's trust (the system store when empty).
absl::Status LoadAuthorities(SSL_CTX* context, const std::string& pem) {
  if (pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(context) == 1) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("the system trust store: ", OpenSslReason()));
  }
  absl::StatusOr<std::vector<Certificate>> authorities = ReadCertificates(pem);
  if (!authorities.ok()) return authorities.status();
  X509_STORE* store = SSL_CTX_get_cert_store(context);
  for (const Certificate& authority : *authorities) {
    if (X509_STORE_add_cert(store, authority.get()) == 1) continue;
    const unsigned long error = ERR_peek_last_error();  // NOLINT(google-runtime-int): OpenSSL's type
    if (ERR_GET_REASON(error) != X509_R_CERT_ALREADY_IN_HASH_TABLE) return absl::InvalidArgumentError(OpenSslReason());
    ERR_clear_error();
  }
  return absl::OkStatus();
}

// Makes the context show the client certificate (and chain) of `cert_pem` with the key of `key_pem`.
absl::Status LoadClientCertificate(SSL_CTX* context, const std::string& cert_pem, const std::string& key_pem,
                                   RedisTlsInput* bad_input) {
  absl::StatusOr<std::vector<Certificate>> chain = ReadCertificates(cert_pem);
  if (!chain.ok()) return Fail(RedisTlsInput::kCert, bad_input, chain.status());
  for (std::size_t i = 0; i < chain->size(); ++i) {
    if ((i == 0 ? SSL_CTX_use_certificate(context, (*chain)[i].get())
                : SSL_CTX_add1_chain_cert(context, (*chain)[i].get())) != 1) {
      return Fail(RedisTlsInput::kCert, bad_input, absl::InvalidArgumentError(OpenSslReason()));
    }
  }
  Bio bio = MemoryBio(key_pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("no memory for a PEM reader");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (key == nullptr) {
    return Fail(RedisTlsInput::kKey, bad_input,
                absl::InvalidArgumentError(absl::StrCat("not an unencrypted PEM private key: ", OpenSslReason())));
  }
  const int used = SSL_CTX_use_PrivateKey(context, key);
  EVP_PKEY_free(key);
  if (used != 1 || SSL_CTX_check_private_key(context) != 1) {
    return Fail(
        RedisTlsInput::kKey, bad_input,
        absl::InvalidArgumentError(absl::StrCat("the key does not go with the client certificate: ", OpenSslReason())));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<ResolvedAddress>> SystemResolve(const std::string& host, int port) {
  return GetAddresses(host, port, 0);
}

int PendingResolutions() {
  Resolutions& state = PendingResolutionsState();
  absl::MutexLock lock(&state.mu);
  return state.pending;
}

absl::StatusOr<std::shared_ptr<const RedisTlsContext>> NewRedisTlsContext(const RedisTlsOptions& options,
                                                                          RedisTlsInput* bad_input) {
  if (options.cert_pem.empty() != options.key_pem.empty()) {
    return Fail(options.cert_pem.empty() ? RedisTlsInput::kCert : RedisTlsInput::kKey, bad_input,
                absl::InvalidArgumentError("a client certificate and its key go together: give both or neither"));
  }
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (raw == nullptr) return absl::ResourceExhaustedError(absl::StrCat("no TLS context: ", OpenSslReason()));
  auto context = std::make_shared<const RedisTlsContext>(raw);
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_default_passwd_cb(raw, NoPassphrase);
  SSL_CTX_set_client_cert_cb(raw, NoteCertificateRequest);
  if (absl::Status loaded = LoadAuthorities(raw, options.ca_pem); !loaded.ok()) {
    return Fail(RedisTlsInput::kCa, bad_input, loaded);
  }
  if (!options.cert_pem.empty()) {
    if (absl::Status loaded = LoadClientCertificate(raw, options.cert_pem, options.key_pem, bad_input); !loaded.ok()) {
      return loaded;
    }
  }
  return context;
}

RedisConnection::RedisConnection(const RedisConnectionOptions& options, int fd)
    : options_(options), peer_(JoinHostPort(options.host, options.port)), fd_(fd), reader_(redisReaderCreate()) {}

RedisConnection::~RedisConnection() {
  // No close_notify: it could wait on a peer that is gone; Redis takes a closed socket as the end.
  if (ssl_ != nullptr) SSL_free(ssl_);
  close(fd_);
  if (reader_ != nullptr) redisReaderFree(reader_);
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Open(const RedisConnectionOptions& options) {
  absl::StatusOr<int> fd = ConnectTcp(options.host, options.port, options.connect_timeout, options.resolver);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<RedisConnection> connection(new RedisConnection(options, *fd));
  if (connection->reader_ == nullptr) return absl::ResourceExhaustedError("no memory for a Redis reply reader");
  if (options.tls != nullptr) {
    if (absl::Status handshake = connection->Handshake(); !handshake.ok()) return handshake;
  }
  return connection;
}

absl::Status RedisConnection::Handshake() {
  const auto failed = [this](absl::string_view reason) {
    return absl::UnavailableError(
        absl::StrCat("Redis TLS handshake with ", peer_, " failed: ", reason, CertificateRequestNote()));
  };
  ERR_clear_error();
  ssl_ = SSL_new(options_.tls->get());
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) return failed(OpenSslReason());
  SSL_set_app_data(ssl_, &certificate_requested_);
  const std::string& host = options_.host;
  if (IsIpAddress(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str()) != 1) return failed(OpenSslReason());
  } else if (SSL_set_tlsext_host_name(ssl_, host.c_str()) != 1 || SSL_set1_host(ssl_, host.c_str()) != 1) {
    return failed(OpenSslReason());
  }
  const absl::Time deadline = absl::Now() + options_.connect_timeout;
  for (;;) {
    ERR_clear_error();
    const int done = SSL_connect(ssl_);
    if (done == 1) return absl::OkStatus();
    const int error = SSL_get_error(ssl_, done);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (!PollFor(fd_, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline).ok()) {
        return failed(absl::StrCat("no answer within ", absl::FormatDuration(options_.connect_timeout)));
      }
      continue;
    }
    std::string reason = error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
                             ? (errno != 0 ? std::strerror(errno) : "the connection was closed")
                             : OpenSslReason();
    if (const long verified = SSL_get_verify_result(ssl_); verified != X509_V_OK) {  // NOLINT(google-runtime-int)
      absl::StrAppend(&reason, " (", X509_verify_cert_error_string(verified), ")");
    }
    return failed(reason);
  }
}

absl::Status RedisConnection::Broken(absl::string_view what) const {
  return absl::UnavailableError(absl::StrCat(ssl_ != nullptr ? "Redis TLS connection to " : "Redis connection to ",
                                             peer_, ": ", what, CertificateRequestNote()));
}

std::string RedisConnection::CertificateRequestNote() const {
  // With TLS 1.3, Redis refuses a missing client certificate after the client's side of the handshake is done: the
  // first command fails, often with a reset before the alert is read.
  return certificate_requested_ ? " (Redis asked for a client certificate, and none is configured)" : "";
}

absl::StatusOr<short> RedisConnection::TlsRetry(int result) const {  // NOLINT(google-runtime-int): poll's type
  const int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ) return POLLIN;
  if (error == SSL_ERROR_WANT_WRITE) return POLLOUT;
  if (error == SSL_ERROR_ZERO_RETURN) return Broken("closed by Redis");
  if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    return Broken(result < 0 && errno != 0 ? std::strerror(errno) : "closed by Redis");
  }
  return Broken(OpenSslReason());
}

absl::StatusOr<short> RedisConnection::SocketRetry(short events) const {  // NOLINT(google-runtime-int)
  if (errno == EINTR) return 0;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return events;
  return Broken(std::strerror(errno));
}

absl::Status RedisConnection::WaitFor(short events, absl::string_view too_late,  // NOLINT(google-runtime-int)
                                      absl::Time deadline, absl::string_view past_deadline) const {
  if (events == 0) return absl::OkStatus();
  const absl::Time no_progress = absl::Now() + options_.command_timeout;
  absl::Status waited = PollFor(fd_, events, std::min(no_progress, deadline));
  if (waited.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::DeadlineExceededError(deadline < no_progress ? past_deadline : too_late);
  }
  return waited;
}

absl::Status RedisConnection::WriteAll(const char* data, std::size_t size, absl::Time deadline,
                                       absl::string_view past_deadline) {
  while (size > 0) {
    absl::StatusOr<short> wait_for;  // NOLINT(google-runtime-int): poll's type
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int written = SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
      if (written > 0) {
        data += written;
        size -= static_cast<std::size_t>(written);
        continue;
      }
      wait_for = TlsRetry(written);
    } else {
      const ssize_t sent = send(fd_, data, size, MSG_NOSIGNAL);
      if (sent >= 0) {
        data += sent;
        size -= static_cast<std::size_t>(sent);
        continue;
      }
      wait_for = SocketRetry(POLLOUT);
    }
    if (!wait_for.ok()) return wait_for.status();
    if (absl::Status waited = WaitFor(*wait_for, "Redis did not take the command in time", deadline, past_deadline);
        !waited.ok()) {
      return waited;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::size_t> RedisConnection::ReadSome(char* buffer, std::size_t size, absl::Time deadline,
                                                      absl::string_view past_deadline) {
  for (;;) {
    absl::StatusOr<short> wait_for;  // NOLINT(google-runtime-int): poll's type
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int read = SSL_read(ssl_, buffer, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
      if (read > 0) return static_cast<std::size_t>(read);
      wait_for = TlsRetry(read);
    } else {
      const ssize_t read = recv(fd_, buffer, size, 0);
      if (read > 0) return static_cast<std::size_t>(read);
      if (read == 0) return Broken("closed by Redis");
      wait_for = SocketRetry(POLLIN);
    }
    if (!wait_for.ok()) return wait_for.status();
    if (absl::Status waited = WaitFor(*wait_for, "Redis did not answer in time", deadline, past_deadline);
        !waited.ok()) {
      return waited;
    }
  }
}

absl::StatusOr<RedisReply> RedisConnection::Command(const std::vector<std::string>& argv, absl::Duration wait) {
  // The whole command, not each wait: a reply trickling in a byte at a time never goes past this.
  const absl::Duration allowed = options_.command_deadline + std::max(wait, absl::ZeroDuration());
  const absl::Time deadline = absl::Now() + allowed;
  // Names the command only (never an argument: AUTH's is the password).
  const std::string past_deadline =
      absl::StrCat("Redis did not finish ", argv.empty() ? "" : argv[0], " within ", absl::FormatDuration(allowed));
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  args.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* command = nullptr;
  const int length = redisFormatCommandArgv(&command, static_cast<int>(args.size()), args.data(), lengths.data());
  if (length < 0 || command == nullptr) return absl::ResourceExhaustedError("no memory for a Redis command");
  const absl::Status written = WriteAll(command, static_cast<std::size_t>(length), deadline, past_deadline);
  redisFreeCommand(command);
  if (!written.ok()) return written;

  const std::size_t limit = options_.max_reply_bytes + kFramingAllowance;
  std::size_t received = 0;
  char buffer[16 << 10];
  for (;;) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
      return absl::DataLossError(absl::StrCat("Redis sent a reply that is not RESP: ", reader_->errstr));
    }
    if (reply != nullptr) return RedisReply(static_cast<redisReply*>(reply));
    if (received > limit) return absl::DataLossError("Redis answered with more bytes than the bound");
    if (absl::Now() >= deadline) return absl::DeadlineExceededError(past_deadline);
    absl::StatusOr<std::size_t> read =
        ReadSome(buffer, std::min(sizeof(buffer), limit + 1 - received), deadline, past_deadline);
    if (!read.ok()) return read.status();
    received += *read;
    if (redisReaderFeed(reader_, buffer, *read) != REDIS_OK) {
      return absl::ResourceExhaustedError("no memory for a Redis reply");
    }
  }
}

}  // namespace pcusage::snapshots
