#include "tests/emulator/emulator_server.h"

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/seed_sample.h"

namespace pcusage::emulator {
namespace {

constexpr absl::string_view kUsageRecordsPath = "/v1/customers/usagerecords";
constexpr absl::string_view kControlPrefix = "/emulator/";
constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kText[] = "text/plain; charset=utf-8";

// Request ids Partner Center echoes back on every response.
constexpr const char* kEchoedHeaders[] = {"MS-RequestId", "MS-CorrelationId"};

// Entries httplib adds to Request::headers that the client never sent.
constexpr absl::string_view kPseudoHeaders[] = {"REMOTE_ADDR", "REMOTE_PORT",
                                                "LOCAL_ADDR", "LOCAL_PORT"};

bool IsPseudoHeader(absl::string_view name) {
  for (absl::string_view pseudo : kPseudoHeaders) {
    if (name == pseudo) return true;
  }
  return false;
}

// Partner Center's error body.
std::string ErrorBody(int code, absl::string_view description) {
  return nlohmann::json{{"code", code},
                        {"description", description},
                        {"data", nlohmann::json::array()},
                        {"source", "PartnerFD"}}
      .dump();
}

RecordedRequest Record(const httplib::Request& request, int status) {
  RecordedRequest record;
  record.method = request.method;
  record.path = request.path;
  const size_t question = request.target.find('?');
  if (question != std::string::npos) {
    record.query = request.target.substr(question + 1);
  }
  for (const auto& [name, value] : request.headers) {
    if (IsPseudoHeader(name)) continue;
    std::string& joined = record.headers[absl::AsciiStrToLower(name)];
    joined = joined.empty() ? value : absl::StrCat(joined, ", ", value);
  }
  record.status = status;
  return record;
}

// Whether `authorization` is "Bearer <token>" (the scheme is case-insensitive).
bool HasBearerToken(absl::string_view authorization, absl::string_view token) {
  return absl::StartsWithIgnoreCase(authorization, "Bearer ") &&
         authorization.substr(7) == token;
}

}  // namespace

PartnerCenterEmulator::PartnerCenterEmulator(EmulatorOptions options)
    : options_(std::move(options)) {
  const httplib::Server::Handler dispatch =
      [this](const httplib::Request& request, httplib::Response& response) {
        Dispatch(request, response);
      };
  server_.Get(".*", dispatch)
      .Post(".*", dispatch)
      .Put(".*", dispatch)
      .Patch(".*", dispatch)
      .Delete(".*", dispatch)
      .Options(".*", dispatch);
  // httplib's default also sets SO_REUSEPORT, which would let two emulators
  // share a fixed port without an error.
  server_.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Idle keep-alive connections hold up Stop() for at most this long.
  server_.set_keep_alive_timeout(1);
  // Without it, Nagle's algorithm and delayed ACKs add ~40 ms to every page on a reused connection.
  server_.set_tcp_nodelay(true);
}

PartnerCenterEmulator::~PartnerCenterEmulator() { Stop(); }

absl::Status PartnerCenterEmulator::Start(const std::string& host, int port) {
  if (serve_thread_.joinable()) {
    return absl::FailedPreconditionError("the emulator is already started");
  }
  if (options_.dataset == EmulatorOptions::Dataset::kGenerated) {
    if (options_.customers < 0 || options_.page_size < 1) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "need customers >= 0 and page_size >= 1, got %d and %d",
          options_.customers, options_.page_size));
    }
    dataset_.emplace(options_.customers, options_.page_size);
  }
  if (port == 0) {
    port_ = server_.bind_to_any_port(host);
  } else {
    port_ = server_.bind_to_port(host, port) ? port : -1;
  }
  if (port_ < 0) {
    port_ = 0;
    return absl::UnavailableError(
        absl::StrFormat("cannot listen on %s:%d", host, port));
  }
  serve_thread_ = std::thread([this] { server_.listen_after_bind(); });
  // stop() is a no-op until the server runs, so Stop() must not race ahead.
  while (!server_.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::OkStatus();
}

void PartnerCenterEmulator::Stop() {
  if (!serve_thread_.joinable()) return;
  server_.stop();
  serve_thread_.join();
}

std::vector<RecordedRequest> PartnerCenterEmulator::requests() const {
  absl::MutexLock lock(&mutex_);
  return log_;
}

void PartnerCenterEmulator::Dispatch(const httplib::Request& request,
                                     httplib::Response& response) {
  const bool control = absl::StartsWith(request.path, kControlPrefix);
  Reply reply;
  if (!control) {
    reply = Respond(request);
  } else if (request.method == "GET" && request.path == "/emulator/requests") {
    reply = RequestLog();
  } else if (request.method == "POST" && request.path == "/emulator/reset") {
    absl::MutexLock lock(&mutex_);
    log_.clear();
    reply = Reply{200, kText, "reset\n"};
  } else {
    reply = Reply{404, kText, "no such emulator route\n"};
  }

  response.status = reply.status;
  response.set_content(std::move(reply.body), reply.content_type.c_str());
  for (const char* name : kEchoedHeaders) {
    if (request.has_header(name)) {
      response.set_header(name, request.get_header_value(name));
    }
  }
  if (!control) {
    absl::MutexLock lock(&mutex_);
    log_.push_back(Record(request, reply.status));
  }
}

PartnerCenterEmulator::Reply PartnerCenterEmulator::Respond(
    const httplib::Request& request) {
  if (request.path == kUsageRecordsPath && request.method == "GET") {
    return UsageRecords(request);
  }
  if (request.path == "/healthz" && request.method == "GET") {
    return Reply{200, kText, "ok"};
  }
  return Reply{
      404, kText,
      absl::StrCat("no route for ", request.method, " ", request.path, "\n")};
}

PartnerCenterEmulator::Reply PartnerCenterEmulator::UsageRecords(
    const httplib::Request& request) const {
  if (!HasBearerToken(request.get_header_value("Authorization"),
                      options_.access_token)) {
    return Reply{401, kJson,
                 ErrorBody(900,
                           "Authorization failed: the bearer token is "
                           "missing, expired or not valid.")};
  }
  if (!dataset_.has_value()) {
    return Reply{200, kJson, std::string(SeedSampleResponse())};
  }
  int page = 0;
  if (request.has_header("MS-ContinuationToken")) {
    const std::optional<int> token_page = dataset_->PageForToken(
        request.get_header_value("MS-ContinuationToken"));
    if (!token_page.has_value()) {
      return Reply{400, kJson,
                   ErrorBody(400, "The continuation token is not valid.")};
    }
    page = *token_page;
  }
  return Reply{200, kJson, dataset_->RenderPage(page)};
}

PartnerCenterEmulator::Reply PartnerCenterEmulator::RequestLog() const {
  nlohmann::json log = nlohmann::json::array();
  for (const RecordedRequest& record : requests()) {
    log.push_back({{"method", record.method},
                   {"path", record.path},
                   {"query", record.query},
                   {"headers", record.headers},
                   {"status", record.status}});
  }
  // Header values are whatever the client sent, not necessarily UTF-8.
  return Reply{
      200, kJson,
      log.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

}  // namespace pcusage::emulator
