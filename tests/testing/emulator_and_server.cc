#include "tests/testing/emulator_and_server.h"

#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "tests/testing/runfiles.h"

namespace pcusage::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
// The server's drain ends at once when no call runs (and within --drain_timeout otherwise): a clean exit is never
// mistaken for a hang.
constexpr absl::Duration kStopGrace = absl::Seconds(15);

}  // namespace

absl::StatusOr<std::unique_ptr<EmulatorAndServer>> EmulatorAndServer::Start(
    const std::vector<std::string>& emulator_flags, std::vector<std::string> server_flags) {
  std::unique_ptr<EmulatorAndServer> stack(new EmulatorAndServer);
  const std::string emulator_port_file = TempPath("emulator.port");
  std::vector<std::string> emulator_args = {"--port=0", "--port_file=" + emulator_port_file,
                                            absl::StrCat("--access_token=", kEmulatorToken)};
  emulator_args.insert(emulator_args.end(), emulator_flags.begin(), emulator_flags.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> emulator =
      ChildProcess::Start(RunfilePath("tests/emulator/pc_emulator"), emulator_args, TempPath("emulator.log"));
  if (!emulator.ok()) return emulator.status();
  stack->emulator_ = *std::move(emulator);
  absl::StatusOr<int> emulator_port = stack->emulator_->WaitForPortFile(emulator_port_file, kStartTimeout);
  if (!emulator_port.ok()) return emulator_port.status();
  stack->emulator_port_ = *emulator_port;

  for (std::string& flag : server_flags) {
    flag = absl::StrReplaceAll(flag, {{kEmulatorPortPlaceholder, absl::StrCat(stack->emulator_port_)}});
  }
  server_flags.push_back("--listen=127.0.0.1:0");
  server_flags.push_back(absl::StrCat("--partner_center_url=http://127.0.0.1:", stack->emulator_port_));
  stack->server_flags_ = std::move(server_flags);
  if (absl::Status started = stack->StartServer(); !started.ok()) return started;
  return stack;
}

absl::StatusOr<EmulatorAndServer::Server> EmulatorAndServer::StartReplica() const {
  const std::string port_file = TempPath("server.port");
  std::vector<std::string> flags = server_flags_;
  flags.push_back("--port_file=" + port_file);
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(RunfilePath("server/pcusage_server"), flags, TempPath("server.log"));
  if (!process.ok()) return process.status();
  absl::StatusOr<int> port = (*process)->WaitForPortFile(port_file, kStartTimeout);
  if (!port.ok()) return port.status();
  return Server{*std::move(process), *port};
}

absl::Status EmulatorAndServer::StartServer() {
  absl::StatusOr<Server> server = StartReplica();
  if (!server.ok()) return server.status();
  server_ = std::move(server->process);
  server_port_ = server->port;
  client_ = std::make_unique<client::UsageRecordsClient>(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_port_), grpc::InsecureChannelCredentials()));
  return absl::OkStatus();
}

void EmulatorAndServer::SignalServer(int signal_number) {
  if (server_) server_->Signal(signal_number);
}

absl::Status EmulatorAndServer::ReplaceServer() {
  StopServer();
  return StartServer();
}

std::vector<std::string> EmulatorAndServer::WithTokenFile() {
  const std::string path = TempPath("access_token");
  std::ofstream(path) << kEmulatorToken << "\n";
  return {"--access_token_file=" + path};
}

EmulatorAndServer::~EmulatorAndServer() { StopServer(); }

int EmulatorAndServer::StopServer() {
  // Disconnect first: the server's drain otherwise waits its full 5 s for connected clients.
  client_.reset();
  return server_ ? server_->Stop(kStopGrace) : -1;
}

EmulatorAndServer::Listing EmulatorAndServer::List(const client::ListOptions& options, int stop_after) const {
  if (stop_after < 0) return List(options, nullptr);
  std::size_t kept = 0;
  Listing listing = List(options, [&kept, stop_after](const partnercenter::usage::v1::CustomerMonthlyUsageRecord&) {
    return ++kept < static_cast<std::size_t>(stop_after) + 1;
  });
  // The record that made the call stop is not kept, as on_record refused it.
  if (listing.records.size() > static_cast<std::size_t>(stop_after)) listing.records.resize(stop_after);
  return listing;
}

EmulatorAndServer::Listing EmulatorAndServer::List(
    const client::ListOptions& options,
    const std::function<bool(const partnercenter::usage::v1::CustomerMonthlyUsageRecord&)>& observe) const {
  Listing listing;
  listing.summary = client_->ListUsageRecords(
      options, [&listing, &observe](const partnercenter::usage::v1::CustomerMonthlyUsageRecord& record) {
        listing.records.push_back(record);
        return !observe || observe(record);
      });
  return listing;
}

nlohmann::json EmulatorAndServer::EmulatorRequests() const {
  httplib::Client http("127.0.0.1", emulator_port_);
  httplib::Result response = http.Get("/emulator/requests");
  if (!response || response->status != 200) return nullptr;
  return nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
}

absl::Status EmulatorAndServer::SetFaults(const std::string& script_json) const {
  httplib::Client http("127.0.0.1", emulator_port_);
  httplib::Result set = http.Post("/emulator/faults", script_json, "application/json");
  if (!set || set->status != 200) {
    return absl::InternalError(absl::StrCat("POST /emulator/faults: ", set ? set->body : "no answer"));
  }
  httplib::Result reset = http.Post("/emulator/reset", "", "text/plain");
  if (!reset || reset->status != 200) return absl::InternalError("POST /emulator/reset failed");
  return absl::OkStatus();
}

absl::Status EmulatorAndServer::EditDataset(const std::string& edits_json) const {
  httplib::Client http("127.0.0.1", emulator_port_);
  httplib::Result edited = http.Post("/emulator/dataset", edits_json, "application/json");
  if (!edited || edited->status != 200) {
    return absl::InternalError(absl::StrCat("POST /emulator/dataset: ", edited ? edited->body : "no answer"));
  }
  return absl::OkStatus();
}

std::string EmulatorAndServer::ServerLog() const { return server_ ? server_->Log() : ""; }

}  // namespace pcusage::testing
