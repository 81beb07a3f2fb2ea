// Debian's redis-server as a child process for tests: on a free loopback port, nothing persisted (--save ''
// --appendonly no), stopped on destruction. Stop() and Start() again on the same port play "Redis went away and came
// back".
#ifndef PCUSAGE_TESTS_TESTING_REDIS_SERVER_H_
#define PCUSAGE_TESTS_TESTING_REDIS_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/testing/child_process.h"

namespace pcusage::testing {

class RedisServer {
 public:
  // Starts one on a free port (or skips nothing: fails, quoting its log, when it does not answer within 10 s).
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(const std::string& binary = "/usr/bin/redis-server");
  ~RedisServer();

  int port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:PORT
  // Stops it (SIGTERM), or starts it again on the same port, empty.
  void Stop();
  absl::Status Restart();
  std::string Log() const;

 private:
  RedisServer(std::string binary, int port) : binary_(std::move(binary)), port_(port) {}
  absl::Status Launch();

  std::string binary_;
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace pcusage::testing

#endif  // PCUSAGE_TESTS_TESTING_REDIS_SERVER_H_
