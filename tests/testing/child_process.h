// Runs a program as a child process for integration tests: stderr and stdout go to a log file, the port it binds
// is read from the port file it writes, and the process is always stopped (SIGTERM, then SIGKILL) on destruction.
#ifndef PCUSAGE_TESTS_TESTING_CHILD_PROCESS_H_
#define PCUSAGE_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pcusage::testing {

class ChildProcess {
 public:
  // Starts `binary` with `args`, its output appended to `log_path`.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::string& binary,
                                                             const std::vector<std::string>& args,
                                                             const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Waits for `port_file` to hold a port number; fails early, quoting the log, when the process exits.
  absl::StatusOr<int> WaitForPortFile(const std::string& port_file, absl::Duration timeout);

  // Sends `signal_number` and returns at once (nothing when the process has been reaped).
  void Signal(int signal_number);

  // Sends SIGTERM, waits up to `grace` for exit, then SIGKILLs. Returns the wait status (waitpid's), also when the
  // process had already exited.
  int Stop(absl::Duration grace = absl::Seconds(5));

  // The log so far.
  std::string Log() const;

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_;
  std::string log_path_;
  bool reaped_ = false;
  int exit_status_ = 0;
};

// A path under the test's temporary directory, unique within the process.
std::string TempPath(const std::string& name);

}  // namespace pcusage::testing

#endif  // PCUSAGE_TESTS_TESTING_CHILD_PROCESS_H_
