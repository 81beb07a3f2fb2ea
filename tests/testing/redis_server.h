// Debian's redis-server as a child process for tests: on a free loopback port, nothing persisted (--save ''
// --appendonly no), stopped on destruction. Stop() and Start() again on the same port play "Redis went away and came
// back". With TlsFiles, it listens with TLS only (--port 0 --tls-port PORT): url() is then rediss://.
#ifndef PCUSAGE_TESTS_TESTING_REDIS_SERVER_H_
#define PCUSAGE_TESTS_TESTING_REDIS_SERVER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "tests/testing/child_process.h"

namespace pcusage::testing {

class RedisServer {
 public:
  // The TLS listener's files (PEM): its certificate and key, and the authority client certificates must chain to.
  struct TlsFiles {
    std::string cert_file;
    std::string key_file;
    std::string ca_file;
    bool auth_clients = true;  // --tls-auth-clients yes (Redis's default) or no
  };

  // Starts one on a free port (or skips nothing: fails, quoting its log, when it does not answer within 10 s).
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(const std::string& binary = "/usr/bin/redis-server");
  // The same with TLS only; ready once its port accepts connections.
  static absl::StatusOr<std::unique_ptr<RedisServer>> StartTls(TlsFiles tls,
                                                               const std::string& binary = "/usr/bin/redis-server");
  ~RedisServer();

  int port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:PORT, or rediss:// with TLS
  // Stops it (SIGTERM), or starts it again on the same port, empty.
  void Stop();
  absl::Status Restart();
  // Sends SIGKILL and returns at once (Stop() then reaps it).
  void Kill();
  std::string Log() const;

 private:
  RedisServer(std::string binary, int port) : binary_(std::move(binary)), port_(port) {}
  static absl::StatusOr<std::unique_ptr<RedisServer>> Make(const std::string& binary, std::optional<TlsFiles> tls);
  absl::Status Launch();

  std::string binary_;
  int port_;
  std::optional<TlsFiles> tls_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace pcusage::testing

#endif  // PCUSAGE_TESTS_TESTING_REDIS_SERVER_H_
