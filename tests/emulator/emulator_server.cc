#include "tests/emulator/emulator_server.h"

#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/emulator/delivery.h"
#include "tests/emulator/request_record.h"

namespace pcusage::emulator {
namespace {

// Request ids Partner Center echoes back on every response.
constexpr const char* kEchoedHeaders[] = {"MS-RequestId", "MS-CorrelationId"};

}  // namespace

PartnerCenterEmulator::PartnerCenterEmulator(EmulatorOptions options)
    : options_(std::move(options)),
      server_(NewServer(options_.tls_cert_file, options_.tls_key_file)),
      token_route_({options_.client_id, options_.client_secret, options_.token_lifetime}, TokenState()),
      control_routes_(ControlState()) {
  {
    absl::MutexLock lock(&mutex_);
    token_counters_.current_refresh_token = options_.refresh_token;
  }
  const httplib::Server::Handler dispatch = [this](const httplib::Request& request, httplib::Response& response) {
    Dispatch(request, response);
  };
  server_->Get(".*", dispatch)
      .Post(".*", dispatch)
      .Put(".*", dispatch)
      .Patch(".*", dispatch)
      .Delete(".*", dispatch)
      .Options(".*", dispatch);
}

PartnerCenterEmulator::~PartnerCenterEmulator() { Stop(); }

absl::Status PartnerCenterEmulator::Start(const std::string& host, int port) {
  if (serve_thread_.joinable()) {
    return absl::FailedPreconditionError("the emulator is already started");
  }
  if (absl::Status status = Configure(); !status.ok()) return status;
  if (absl::Status status = Bind(host, port); !status.ok()) return status;
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = false;
  }
  serve_thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the server runs, so Stop() must not race ahead.
  while (!server_->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::OkStatus();
}

absl::Status PartnerCenterEmulator::Configure() {
  std::optional<GeneratedDataset> dataset;
  if (options_.dataset == EmulatorOptions::Dataset::kGenerated) {
    if (options_.customers < 0 || options_.page_size < 1) {
      return absl::InvalidArgumentError(absl::StrFormat("need customers >= 0 and page_size >= 1, got %d and %d",
                                                        options_.customers, options_.page_size));
    }
    dataset.emplace(options_.customers, options_.page_size);
  }
  usage_route_.emplace(options_.access_token, std::move(dataset), UsageState());
  if (!options_.faults.empty()) {
    if (absl::Status status = SetFaults(options_.faults); !status.ok()) return status;
  }
  if (!options_.refresh_token.empty()) {
    if (options_.client_id.empty()) {
      return absl::InvalidArgumentError("the token endpoint needs a client_id");
    }
    // expires_in counts whole seconds.
    if (options_.token_lifetime < absl::Seconds(1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("token_lifetime must be at least 1s, not ", absl::FormatDuration(options_.token_lifetime)));
    }
  }
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
    return absl::InvalidArgumentError("HTTPS needs both tls_cert_file and tls_key_file");
  }
  if (!server_->is_valid()) {
    return absl::InvalidArgumentError(absl::StrFormat("cannot serve HTTPS with certificate %s and key %s",
                                                      options_.tls_cert_file, options_.tls_key_file));
  }
  return absl::OkStatus();
}

absl::Status PartnerCenterEmulator::Bind(const std::string& host, int port) {
  // httplib binds the first address a name resolves to; resolving it here first lets the emulator report the one
  // address its one socket is on (httplib sets no SO_REUSEPORT here: delivery.cc's NewServer).
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    return absl::UnavailableError(absl::StrFormat("cannot resolve %s", host));
  }
  char numeric[NI_MAXHOST];
  const int named = getnameinfo(found->ai_addr, found->ai_addrlen, numeric, sizeof numeric, nullptr, 0, NI_NUMERICHOST);
  freeaddrinfo(found);
  if (named != 0) return absl::UnavailableError(absl::StrFormat("cannot use the address %s resolves to", host));
  host_ = numeric;
  if (port == 0) {
    port_ = server_->bind_to_any_port(host_);
  } else {
    port_ = server_->bind_to_port(host_, port) ? port : -1;
  }
  if (port_ < 0) {
    port_ = 0;
    return absl::UnavailableError(absl::StrFormat("cannot listen on %s:%d", host, port));
  }
  return absl::OkStatus();
}

void PartnerCenterEmulator::Stop() {
  if (!serve_thread_.joinable()) return;
  {
    // Responses that are pausing give up, so that the server's threads end.
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  server_->stop();
  serve_thread_.join();
}

std::vector<RecordedRequest> PartnerCenterEmulator::requests() const {
  absl::MutexLock lock(&mutex_);
  std::vector<RecordedRequest> requests;
  requests.reserve(log_.size());
  for (const LogEntry& entry : log_) requests.push_back(entry.request);
  return requests;
}

absl::Status PartnerCenterEmulator::SetFaults(absl::string_view json) {
  absl::StatusOr<std::vector<FaultRule>> rules = ParseFaultScript(json);
  if (!rules.ok()) return rules.status();
  absl::MutexLock lock(&mutex_);
  faults_ = FaultScript(*std::move(rules));
  return absl::OkStatus();
}

TokenCounters PartnerCenterEmulator::tokens() const {
  absl::MutexLock lock(&mutex_);
  return token_counters_;
}

void PartnerCenterEmulator::Dispatch(const httplib::Request& request, httplib::Response& response) {
  for (const char* name : kEchoedHeaders) {
    if (request.has_header(name)) {
      response.set_header(name, request.get_header_value(name));
    }
  }
  // A token path is never a control route, not even for a tenant named "emulator".
  const std::optional<TokenVersion> token_version = TokenVersionOf(request.path);
  if (!token_version.has_value() && absl::StartsWith(request.path, kControlPrefix)) {
    const Reply reply = control_routes_.Answer(request);
    response.status = reply.status;
    response.set_content(reply.body, reply.content_type.c_str());
    return;
  }

  Reply reply = Respond(request, token_version);
  const uint64_t log_id = Log(request, reply, token_version.has_value());
  DeliveryHooks hooks;
  hooks.wait_for_stop = [this](absl::Duration timeout) { return WaitForStop(timeout); };
  hooks.done = [this, log_id](bool completed) { Complete(log_id, completed); };
  Deliver(std::move(reply), std::move(hooks), response);
}

Reply PartnerCenterEmulator::Respond(const httplib::Request& request, std::optional<TokenVersion> token_version) const {
  if (request.path == kUsageRecordsPath && request.method == "GET") {
    return usage_route_->Answer(request);
  }
  if (request.method == "POST" && !options_.refresh_token.empty() && token_version.has_value()) {
    return token_route_.Answer(request, *token_version);
  }
  if (request.path == "/healthz" && request.method == "GET") {
    return Reply{200, kTextContentType, "ok"};
  }
  return Reply{404, kTextContentType, absl::StrCat("no route for ", request.method, " ", request.path, "\n")};
}

uint64_t PartnerCenterEmulator::Log(const httplib::Request& request, const Reply& reply, bool token_path) {
  RecordedRequest record = RecordRequest(request, token_path);
  record.status = reply.status;
  record.page = reply.page;
  if (reply.fault.has_value()) record.fault = reply.fault->kind;
  absl::MutexLock lock(&mutex_);
  const uint64_t log_id = next_log_id_++;
  log_.push_back(LogEntry{log_id, std::move(record)});
  return log_id;
}

void PartnerCenterEmulator::Complete(uint64_t log_id, bool completed) {
  absl::MutexLock lock(&mutex_);
  for (auto it = log_.rbegin(); it != log_.rend(); ++it) {
    if (it->id == log_id) {
      it->request.completed = completed;
      return;
    }
  }
}

bool PartnerCenterEmulator::WaitForStop(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  return mutex_.AwaitWithTimeout(absl::Condition(&stopping_), timeout);
}

UsageRoute::State PartnerCenterEmulator::UsageState() {
  UsageRoute::State state;
  state.issued_token_expiry = [this](const std::string& token) -> std::optional<absl::Time> {
    absl::MutexLock lock(&mutex_);
    const auto issued = issued_tokens_.find(token);
    if (issued == issued_tokens_.end()) return std::nullopt;
    return issued->second;
  };
  state.take_fault = [this](int page) {
    absl::MutexLock lock(&mutex_);
    return faults_.TakeForPage(page);
  };
  return state;
}

TokenRoute::State PartnerCenterEmulator::TokenState() {
  TokenRoute::State state;
  state.count_request = [this] {
    absl::MutexLock lock(&mutex_);
    ++token_counters_.token_requests;
    return faults_.TakeForToken();
  };
  state.rotate = [this](const std::string& used, const IssuedTokens& issued, absl::Time expiry) {
    absl::MutexLock lock(&mutex_);
    if (used != token_counters_.current_refresh_token) return false;
    issued_tokens_[issued.access_token] = expiry;
    token_counters_.current_refresh_token = issued.refresh_token;
    ++token_counters_.issued;
    ++token_counters_.refresh_token_rotations;
    return true;
  };
  return state;
}

ControlRoutes::State PartnerCenterEmulator::ControlState() {
  ControlRoutes::State state;
  state.requests = [this] { return requests(); };
  state.clear_log = [this] {
    absl::MutexLock lock(&mutex_);
    log_.clear();
  };
  state.tokens = [this] { return tokens(); };
  state.set_faults = [this](absl::string_view json) { return SetFaults(json); };
  // Configure() sets the usage route up before the server serves a request.
  state.edit_dataset = [this](absl::string_view json) { return usage_route_->EditDataset(json); };
  state.clear_faults = [this] {
    absl::MutexLock lock(&mutex_);
    faults_ = FaultScript();
  };
  return state;
}

}  // namespace pcusage::emulator
