// pc_emulator: runs the Partner Center emulator (and its OAuth2 token endpoint)
// as a process, over HTTP or HTTPS, for the demo and for integration tests that
// supervise it. It serves until SIGTERM or SIGINT.

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "server/common/port_file.h"
#include "server/common/stop_signals.h"
#include "tests/emulator/emulator_server.h"
#include "tests/emulator/fault_script.h"

ABSL_FLAG(std::string, host, "127.0.0.1",
          "Address to listen on; a name is resolved once and one socket is bound on its first address, the one the "
          "start-up line shows. Keep it on loopback.");
ABSL_FLAG(int, port, 0,
          "Port to listen on; 0 picks a free port (learn it from --port_file "
          "or the start-up line on stderr).");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound port is written to this file once the emulator "
          "accepts connections. The file appears complete (written under a "
          "temporary name, then renamed), so a supervisor can poll for it.");
ABSL_FLAG(std::string, dataset, "seed",
          "What GET /v1/customers/usagerecords serves: 'seed' (Partner "
          "Center's sample response, byte for byte, as one page) or "
          "'generated' (--customers deterministic records in pages of "
          "--page_size, linked by MS-ContinuationToken).");
ABSL_FLAG(int, customers, 250, "Number of customers in the generated data set (>= 0).");
ABSL_FLAG(int, page_size, 40, "Records per generated page (>= 1).");
ABSL_FLAG(std::string, access_token, "emulator-token",
          "Tokens requests may present as 'Authorization: Bearer <token>', "
          "comma-separated, that never expire; empty for none. Tokens the token endpoint "
          "issued work too until they expire; anything else gets 401.");
ABSL_FLAG(std::string, faults, "",
          "A fault script: a JSON array of rules such as "
          "'[{\"page\": 2, \"fault\": \"throttle\", \"retry_after\": \"1\"}]' "
          "that make chosen requests fail (format: tests/emulator/fault_script.h). "
          "POST /emulator/faults replaces it and DELETE /emulator/faults clears it.");
ABSL_FLAG(std::string, refresh_token, "",
          "Enables the OAuth2 token endpoint (POST /{tenant}/oauth2/token and "
          "/{tenant}/oauth2/v2.0/token, refresh-token grant), which accepts "
          "this refresh token first and replaces it with a new one on every "
          "grant. Empty: no token endpoint (404). Test use only: command "
          "lines are visible to every local user.");
ABSL_FLAG(absl::Duration, token_lifetime, absl::Hours(1),
          "How long the access tokens the token endpoint issues are accepted, "
          "e.g. 2s or 1h; at least 1s.");
ABSL_FLAG(std::string, client_id, "pcusage-test-client", "The client_id the token endpoint accepts.");
ABSL_FLAG(std::string, client_secret, "",
          "If set, token requests must carry this client_secret (a "
          "confidential client); if empty, they must carry none (a public "
          "client).");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate (chain) to serve HTTPS with, together with "
          "--tls_key_file; without both the emulator serves plain HTTP.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file.");

namespace pcusage::emulator {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

absl::StatusOr<EmulatorOptions> OptionsFromFlags() {
  EmulatorOptions options;
  const std::string dataset = absl::GetFlag(FLAGS_dataset);
  if (dataset == "seed") {
    options.dataset = EmulatorOptions::Dataset::kSeed;
  } else if (dataset == "generated") {
    options.dataset = EmulatorOptions::Dataset::kGenerated;
  } else {
    return absl::InvalidArgumentError(absl::StrFormat("--dataset must be 'seed' or 'generated', not '%s'", dataset));
  }
  options.customers = absl::GetFlag(FLAGS_customers);
  if (options.customers < 0) {
    return absl::InvalidArgumentError(absl::StrFormat("--customers must be 0 or more, not %d", options.customers));
  }
  options.page_size = absl::GetFlag(FLAGS_page_size);
  if (options.page_size < 1) {
    return absl::InvalidArgumentError(absl::StrFormat("--page_size must be 1 or more, not %d", options.page_size));
  }
  const int port = absl::GetFlag(FLAGS_port);
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrFormat("--port must be in 0..65535, not %d", port));
  }
  options.access_token = absl::GetFlag(FLAGS_access_token);
  options.refresh_token = absl::GetFlag(FLAGS_refresh_token);
  options.token_lifetime = absl::GetFlag(FLAGS_token_lifetime);
  options.client_id = absl::GetFlag(FLAGS_client_id);
  options.client_secret = absl::GetFlag(FLAGS_client_secret);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.faults = absl::GetFlag(FLAGS_faults);
  if (!options.faults.empty()) {
    if (absl::Status status = ParseFaultScript(options.faults).status(); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--faults: ", status.message()));
    }
  }
  return options;
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves a stand-in for Partner Center's GET /v1/customers/usagerecords "
      "over HTTP or HTTPS, plus an OAuth2 token endpoint with --refresh_token, "
      "GET /healthz, GET /emulator/requests (the request log), POST "
      "/emulator/reset, POST and DELETE /emulator/faults (the fault script) "
      "and GET /emulator/tokens (token endpoint counters). Stops cleanly on "
      "SIGTERM or SIGINT.\n"
      "Usage: pc_emulator [--dataset=seed|generated] [--port=N] "
      "[--port_file=PATH] [--faults=JSON] [--refresh_token=RT] "
      "[--tls_cert_file=PEM --tls_key_file=PEM] ...");
  // absl's --help lists only flags from a file named after the binary.
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "tests/emulator/emulator_main.cc");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  const std::vector<char*> arguments = absl::ParseCommandLine(argc, argv);
  if (arguments.size() > 1) {
    std::fprintf(stderr, "pc_emulator: unexpected arguments: %s\n",
                 absl::StrJoin(arguments.begin() + 1, arguments.end(), " ").c_str());
    return kExitUsage;
  }
  const absl::StatusOr<EmulatorOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    std::fprintf(stderr, "pc_emulator: %s\n", std::string(options.status().message()).c_str());
    return kExitUsage;
  }

  BlockStopSignals();  // before any thread starts

  PartnerCenterEmulator emulator(*options);
  const std::string host = absl::GetFlag(FLAGS_host);
  if (absl::Status status = emulator.Start(host, absl::GetFlag(FLAGS_port)); !status.ok()) {
    std::fprintf(stderr, "pc_emulator: %s\n", status.ToString().c_str());
    // Options Start rejects (TLS files among them) are usage errors too.
    return absl::IsInvalidArgument(status) ? kExitUsage : kExitFailure;
  }
  // The line first: whoever waits for the port file may read the log as soon as the file appears.
  // The address bound, not the flag's text: a name is bound on the one address it resolved to first.
  const std::string url_host =
      absl::StrContains(emulator.host(), ':') ? absl::StrCat("[", emulator.host(), "]") : emulator.host();
  const char* scheme = options->tls_cert_file.empty() ? "http" : "https";
  std::fprintf(stderr, "pc_emulator: serving %s on %s://%s:%d\n", absl::GetFlag(FLAGS_dataset).c_str(), scheme,
               url_host.c_str(), emulator.port());
  std::fflush(stderr);
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    if (absl::Status status = WritePortFile(port_file, emulator.port()); !status.ok()) {
      std::fprintf(stderr, "pc_emulator: %s\n", status.ToString().c_str());
      return kExitFailure;
    }
  }

  WaitForStopSignal();
  emulator.Stop();
  return 0;
}

}  // namespace
}  // namespace pcusage::emulator

int main(int argc, char** argv) { return pcusage::emulator::Run(argc, argv); }
