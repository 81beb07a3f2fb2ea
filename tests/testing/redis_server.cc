#include "tests/testing/redis_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/testing/loopback.h"

namespace pcusage::testing {
namespace {

absl::StatusOr<int> FreeLoopbackPort() {
  int port = 0;
  const int fd = BindLoopback(&port);
  if (fd < 0) return absl::InternalError("no free loopback port");
  close(fd);
  return port;
}

// Whether the port accepts a connection (a TLS listener wants a handshake before PING).
bool Accepts(int port) {
  const int fd = ConnectToLoopback(port);
  if (fd < 0) return false;
  close(fd);
  return true;
}

// Whether something answers PING on the port.
bool Pong(int port) {
  const int fd = ConnectToLoopback(port);
  if (fd < 0) return false;
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  constexpr char kPing[] = "PING\r\n";
  char reply[16] = {};
  const bool pong = write(fd, kPing, sizeof(kPing) - 1) == sizeof(kPing) - 1 &&
                    read(fd, reply, sizeof(reply) - 1) > 0 && std::strncmp(reply, "+PONG", 5) == 0;
  close(fd);
  return pong;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(const std::string& binary) {
  return Make(binary, std::nullopt);
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::StartTls(TlsFiles tls, const std::string& binary) {
  return Make(binary, std::move(tls));
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Make(const std::string& binary, std::optional<TlsFiles> tls) {
  absl::StatusOr<int> port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  std::unique_ptr<RedisServer> server(new RedisServer(binary, *port));
  server->tls_ = std::move(tls);
  if (absl::Status launched = server->Launch(); !launched.ok()) return launched;
  return server;
}

absl::Status RedisServer::Launch() {
  std::vector<std::string> args = {
      "--bind",       "127.0.0.1",
      "--save",       "",
      "--appendonly", "no",
      "--dir",        std::getenv("TEST_TMPDIR") != nullptr ? std::getenv("TEST_TMPDIR") : "/tmp"};
  if (tls_.has_value()) {
    args.insert(args.end(), {"--port", "0", "--tls-port", absl::StrCat(port_), "--tls-cert-file", tls_->cert_file,
                             "--tls-key-file", tls_->key_file, "--tls-ca-cert-file", tls_->ca_file,
                             "--tls-auth-clients", tls_->auth_clients ? "yes" : "no"});
  } else {
    args.insert(args.end(), {"--port", absl::StrCat(port_)});
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(binary_, args, TempPath("redis.log"));
  if (!process.ok()) return process.status();
  process_ = *std::move(process);
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (tls_.has_value() ? !Accepts(port_) : !Pong(port_)) {
    if (absl::Now() > give_up) return absl::UnavailableError(absl::StrCat("redis-server did not start: ", Log()));
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::OkStatus();
}

RedisServer::~RedisServer() { Stop(); }

std::string RedisServer::url() const {
  return absl::StrCat(tls_.has_value() ? "rediss" : "redis", "://127.0.0.1:", port_);
}

void RedisServer::Stop() {
  if (process_ != nullptr) process_->Stop();
  process_.reset();
}

void RedisServer::Kill() {
  if (process_ != nullptr) process_->Signal(SIGKILL);
}

absl::Status RedisServer::Restart() {
  Stop();
  return Launch();
}

std::string RedisServer::Log() const { return process_ != nullptr ? process_->Log() : ""; }

}  // namespace pcusage::testing
