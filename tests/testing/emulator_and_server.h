// pc_emulator and pcusage_server as real processes on free loopback ports, with a C++ client connected to the
// server and a control connection to the emulator (request log, fault scripts). Both stop when this is destroyed.
#ifndef PCUSAGE_TESTS_TESTING_EMULATOR_AND_SERVER_H_
#define PCUSAGE_TESTS_TESTING_EMULATOR_AND_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"

namespace pcusage::testing {

// In server flags, stands for the emulator's port (e.g. in --token_url).
inline constexpr char kEmulatorPortPlaceholder[] = "{emulator_port}";

// The bearer token the emulator accepts.
inline constexpr char kEmulatorToken[] = "emulator-token";

class EmulatorAndServer {
 public:
  // `emulator_flags` choose the data set; `server_flags` are added to the server's own (listen address, port
  // file, Partner Center URL), with kEmulatorPortPlaceholder in them replaced by the emulator's port. Fails, quoting
  // the logs, when either does not start within 30 s.
  static absl::StatusOr<std::unique_ptr<EmulatorAndServer>> Start(const std::vector<std::string>& emulator_flags,
                                                                  std::vector<std::string> server_flags);

  // Server flags that give it the emulator's token in a file.
  static std::vector<std::string> WithTokenFile();

  ~EmulatorAndServer();

  struct Listing {
    client::ListSummary summary;
    std::vector<partnercenter::usage::v1::CustomerMonthlyUsageRecord> records;
  };
  // Lists through the server, keeping every record; with `stop_after` >= 0 the caller stops (cancels) once it has
  // that many.
  Listing List(const client::ListOptions& options, int stop_after = -1) const;
  // Lists through the server, keeping every record and then handing it to `observe` (on the calling thread, as
  // it arrives); `observe` returning false cancels the call. Safe to call from several threads at once.
  Listing List(const client::ListOptions& options,
               const std::function<bool(const partnercenter::usage::v1::CustomerMonthlyUsageRecord&)>& observe) const;

  // The emulator's request log (GET /emulator/requests), oldest first; null when it could not be read.
  nlohmann::json EmulatorRequests() const;
  // Replaces the emulator's fault script (POST /emulator/faults) and clears its request log.
  absl::Status SetFaults(const std::string& script_json) const;
  // Edits the emulator's generated data set (POST /emulator/dataset, tests/emulator/README.md); the log is kept.
  absl::Status EditDataset(const std::string& edits_json) const;

  std::string ServerLog() const;
  // Stops the server (disconnecting the client first) and returns its wait status.
  int StopServer();
  // Sends the server `signal_number` and returns at once (SIGTERM starts its drain).
  void SignalServer(int signal_number);
  // Stops the server, then starts another with the same flags against the same emulator (a second replica), and
  // connects the client to it.
  absl::Status ReplaceServer();
  int server_port() const { return server_port_; }
  // The emulator's port, for servers a test starts itself (more replicas).
  int emulator_port() const { return emulator_port_; }

  // A server process and the port it listens on.
  struct Server {
    std::unique_ptr<ChildProcess> process;
    int port = 0;
  };
  // Starts another server with this stack's flags against the same emulator (a replica: same credentials, same
  // --snapshot_store), on a port of its own. The caller owns it; destroying it stops the process.
  absl::StatusOr<Server> StartReplica() const;

 private:
  EmulatorAndServer() = default;
  absl::Status StartServer();

  std::unique_ptr<ChildProcess> emulator_;
  std::unique_ptr<ChildProcess> server_;
  int emulator_port_ = 0;
  int server_port_ = 0;
  std::vector<std::string> server_flags_;
  std::unique_ptr<client::UsageRecordsClient> client_;
};

}  // namespace pcusage::testing

#endif  // PCUSAGE_TESTS_TESTING_EMULATOR_AND_SERVER_H_
