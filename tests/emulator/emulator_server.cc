#include "tests/emulator/emulator_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/page_edits.h"
#include "tests/emulator/seed_sample.h"

namespace pcusage::emulator {
namespace {

constexpr absl::string_view kUsageRecordsPath = "/v1/customers/usagerecords";
constexpr absl::string_view kControlPrefix = "/emulator/";
constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kText[] = "text/plain; charset=utf-8";
constexpr char kHtml[] = "text/html; charset=utf-8";

// What a proxy or a sign-in redirect puts where JSON was expected.
constexpr char kSignInPage[] =
    "<!DOCTYPE html>\n<html><head><title>Sign in to your account</title></head>\n"
    "<body><p>Sign in to continue to Partner Center.</p></body></html>\n";

// How often a paused body checks whether the client is still there.
constexpr absl::Duration kPauseStep = absl::Milliseconds(20);

// Request ids Partner Center echoes back on every response.
constexpr const char* kEchoedHeaders[] = {"MS-RequestId", "MS-CorrelationId"};

// Entries httplib adds to Request::headers that the client never sent.
constexpr absl::string_view kPseudoHeaders[] = {"REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"};

bool IsPseudoHeader(absl::string_view name) {
  for (absl::string_view pseudo : kPseudoHeaders) {
    if (name == pseudo) return true;
  }
  return false;
}

// Partner Center's error body.
std::string ErrorBody(int code, absl::string_view description) {
  return nlohmann::json{
      {"code", code}, {"description", description}, {"data", nlohmann::json::array()}, {"source", "PartnerFD"}}
      .dump();
}

// The log entry for `request`, but for what the reply decides.
RecordedRequest Record(const httplib::Request& request) {
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
  return record;
}

// The link to the page named `token`, as GeneratedDataset::RenderPage writes links.next.
std::string NextLink(absl::string_view token) {
  return absl::StrCat(R"({"uri": "/v1/customers/usagerecords?seekOperation=Next", "method": "GET", )",
                      R"("headers": [{"key": "MS-ContinuationToken", "value": )", nlohmann::json(token).dump(), "}]}");
}

// Whether `authorization` is "Bearer <token>" (the scheme is case-insensitive).
bool HasBearerToken(absl::string_view authorization, absl::string_view token) {
  return absl::StartsWithIgnoreCase(authorization, "Bearer ") && authorization.substr(7) == token;
}

// A response body made of `head`, `filler` 'x' characters that are never stored, and `tail`.
struct Body {
  std::string head;
  size_t filler = 0;
  std::string tail;

  size_t size() const { return head.size() + filler + tail.size(); }

  // Writes bytes [begin, end) to `sink`; false when the client does not take them.
  bool Write(size_t begin, size_t end, httplib::DataSink& sink) const {
    static const std::string* const kFillerBlock = new std::string(64 * 1024, 'x');
    while (begin < end) {
      absl::string_view piece;
      if (begin < head.size()) {
        piece = absl::string_view(head).substr(begin, end - begin);
      } else if (begin < head.size() + filler) {
        piece = absl::string_view(*kFillerBlock).substr(0, std::min(end, head.size() + filler) - begin);
      } else {
        piece = absl::string_view(tail).substr(begin - head.size() - filler, end - begin);
      }
      if (!sink.write(piece.data(), piece.size())) return false;
      begin += piece.size();
    }
    return true;
  }
};

}  // namespace

PartnerCenterEmulator::PartnerCenterEmulator(EmulatorOptions options) : options_(std::move(options)) {
  const httplib::Server::Handler dispatch = [this](const httplib::Request& request, httplib::Response& response) {
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
      return absl::InvalidArgumentError(absl::StrFormat("need customers >= 0 and page_size >= 1, got %d and %d",
                                                        options_.customers, options_.page_size));
    }
    dataset_.emplace(options_.customers, options_.page_size);
  }
  if (!options_.faults.empty()) {
    if (absl::Status status = SetFaults(options_.faults); !status.ok()) return status;
  }
  if (port == 0) {
    port_ = server_.bind_to_any_port(host);
  } else {
    port_ = server_.bind_to_port(host, port) ? port : -1;
  }
  if (port_ < 0) {
    port_ = 0;
    return absl::UnavailableError(absl::StrFormat("cannot listen on %s:%d", host, port));
  }
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = false;
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
  {
    // Responses that are pausing give up, so that the server's threads end.
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  server_.stop();
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

void PartnerCenterEmulator::Dispatch(const httplib::Request& request, httplib::Response& response) {
  for (const char* name : kEchoedHeaders) {
    if (request.has_header(name)) {
      response.set_header(name, request.get_header_value(name));
    }
  }
  if (absl::StartsWith(request.path, kControlPrefix)) {
    const Reply reply = Control(request);
    response.status = reply.status;
    response.set_content(reply.body, reply.content_type.c_str());
    return;
  }

  Reply reply = Respond(request);
  RecordedRequest record = Record(request);
  record.status = reply.status;
  record.page = reply.page;
  if (reply.fault.has_value()) record.fault = reply.fault->kind;
  uint64_t log_id = 0;
  {
    absl::MutexLock lock(&mutex_);
    log_id = next_log_id_++;
    log_.push_back(LogEntry{log_id, std::move(record)});
  }
  Send(std::move(reply), log_id, response);
}

PartnerCenterEmulator::Reply PartnerCenterEmulator::Control(const httplib::Request& request) {
  if (request.method == "GET" && request.path == "/emulator/requests") {
    return RequestLog();
  }
  if (request.method == "POST" && request.path == "/emulator/reset") {
    absl::MutexLock lock(&mutex_);
    log_.clear();
    return Reply{200, kText, "reset\n"};
  }
  if (request.path == "/emulator/faults") {
    if (request.method == "POST") {
      if (absl::Status status = SetFaults(request.body); !status.ok()) {
        return Reply{400, kText, absl::StrCat(status.message(), "\n")};
      }
      return Reply{200, kText, "faults set\n"};
    }
    if (request.method == "DELETE") {
      absl::MutexLock lock(&mutex_);
      faults_ = FaultScript();
      return Reply{200, kText, "faults cleared\n"};
    }
  }
  return Reply{404, kText, "no such emulator route\n"};
}

PartnerCenterEmulator::Reply PartnerCenterEmulator::Respond(const httplib::Request& request) {
  if (request.path == kUsageRecordsPath && request.method == "GET") {
    return UsageRecords(request);
  }
  if (request.path == "/healthz" && request.method == "GET") {
    return Reply{200, kText, "ok"};
  }
  return Reply{404, kText, absl::StrCat("no route for ", request.method, " ", request.path, "\n")};
}

PartnerCenterEmulator::Reply PartnerCenterEmulator::UsageRecords(const httplib::Request& request) {
  Reply reply;
  reply.content_type = kJson;
  reply.page = RequestedPage(request);
  if (!HasBearerToken(request.get_header_value("Authorization"), options_.access_token)) {
    reply.status = 401;
    reply.body = ErrorBody(900, "Authorization failed: the bearer token is missing, expired or not valid.");
    return reply;
  }
  if (!reply.page.has_value()) {
    reply.status = 400;
    reply.body = ErrorBody(400, "The continuation token is not valid.");
    return reply;
  }
  reply.body = dataset_.has_value() ? dataset_->RenderPage(*reply.page) : std::string(SeedSampleResponse());
  {
    absl::MutexLock lock(&mutex_);
    reply.fault = faults_.Take(*reply.page);
  }
  if (reply.fault.has_value()) ApplyContentFault(reply);
  return reply;
}

std::optional<int> PartnerCenterEmulator::RequestedPage(const httplib::Request& request) const {
  if (!dataset_.has_value() || !request.has_header("MS-ContinuationToken")) return 0;
  return dataset_->PageForToken(request.get_header_value("MS-ContinuationToken"));
}

void PartnerCenterEmulator::ApplyContentFault(Reply& reply) const {
  const FaultRule& rule = *reply.fault;
  switch (rule.kind) {
    case FaultKind::kHttpStatus:
      reply.status = rule.status;
      reply.body = rule.body.value_or(ErrorBody(rule.error_code, rule.description));
      if (rule.retry_after.has_value()) reply.headers.emplace("Retry-After", *rule.retry_after);
      break;
    case FaultKind::kThrottle:
      reply.status = 429;
      reply.body = absl::StrCat(R"({"statusCode": 429, "message": "Rate limit is exceeded. Try again in )",
                                rule.message_seconds, R"( seconds."})");
      if (rule.retry_after.has_value()) reply.headers.emplace("Retry-After", *rule.retry_after);
      break;
    case FaultKind::kTruncatedJson:
      reply.body.resize(reply.body.size() / 2);
      break;
    case FaultKind::kInvalidJson:
      reply.body = "<html><body>Service Unavailable</body></html>";
      break;
    case FaultKind::kHtml:
      reply.content_type = kHtml;
      reply.body = kSignInPage;
      break;
    case FaultKind::kWrongTypes:
      reply.body = WithWrongTypedCost(reply.body);
      break;
    case FaultKind::kLoopNext:
      reply.body = WithNextLink(reply.body, NextLink(GeneratedDataset::ContinuationToken(*reply.page)));
      break;
    case FaultKind::kSlowFirstByte:
    case FaultKind::kStallMidBody:
    case FaultKind::kResetMidBody:
    case FaultKind::kHugeBody:
    case FaultKind::kSlowBody:
      // Send applies these.
      break;
  }
}

void PartnerCenterEmulator::Send(Reply reply, uint64_t log_id, httplib::Response& response) {
  response.status = reply.status;
  for (const auto& [name, value] : reply.headers) response.set_header(name, value);
  const auto faulted = [&reply](FaultKind kind) { return reply.fault.has_value() && reply.fault->kind == kind; };
  if (faulted(FaultKind::kSlowFirstByte)) {
    // Stop cuts the wait short; the page follows either way.
    WaitForStop(reply.fault->delay);
  }

  auto body = std::make_shared<Body>();
  if (faulted(FaultKind::kHugeBody)) {
    PaddedPage padded = PadPage(reply.body);
    body->head = std::move(padded.head);
    body->filler = static_cast<size_t>(reply.fault->padding_bytes);
    body->tail = std::move(padded.tail);
  } else {
    body->head = std::move(reply.body);
  }
  if (body->size() == 0) {
    response.set_content("", reply.content_type.c_str());
    Complete(log_id, true);
    return;
  }

  // httplib calls it once the response has been sent or abandoned, with whether the provider got to the end.
  const httplib::ContentProviderResourceReleaser complete = [this, log_id](bool success) { Complete(log_id, success); };
  if (faulted(FaultKind::kSlowBody)) {
    const int64_t chunks = std::max<int64_t>(1, reply.fault->duration / reply.fault->chunk_interval);
    const size_t chunk_size = std::max<size_t>(1, (body->size() + chunks - 1) / static_cast<size_t>(chunks));
    const absl::Duration interval = reply.fault->chunk_interval;
    response.set_chunked_content_provider(
        reply.content_type,
        [this, body, chunk_size, interval](size_t offset, httplib::DataSink& sink) {
          if (offset > 0 && !PauseBody(interval, sink)) return false;
          const size_t end = std::min(body->size(), offset + chunk_size);
          if (!body->Write(offset, end, sink)) return false;
          if (end == body->size()) sink.done();
          return true;
        },
        complete);
    return;
  }

  httplib::ContentProvider provider;
  const size_t half = body->size() / 2;
  if (faulted(FaultKind::kStallMidBody)) {
    const absl::Duration delay = reply.fault->delay;
    provider = [this, body, half, delay](size_t offset, size_t, httplib::DataSink& sink) {
      if (offset < half) return body->Write(offset, half, sink);
      return PauseBody(delay, sink) && body->Write(offset, body->size(), sink);
    };
  } else if (faulted(FaultKind::kResetMidBody)) {
    // Returning false at the half makes httplib close the connection short of the declared length.
    provider = [body, half](size_t offset, size_t, httplib::DataSink& sink) {
      return offset < half && body->Write(offset, half, sink);
    };
  } else {
    provider = [body](size_t offset, size_t, httplib::DataSink& sink) {
      return body->Write(offset, body->size(), sink);
    };
  }
  response.set_content_provider(body->size(), reply.content_type, std::move(provider), complete);
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

bool PartnerCenterEmulator::PauseBody(absl::Duration duration, httplib::DataSink& sink) {
  const absl::Time end = absl::Now() + duration;
  for (absl::Time now = absl::Now(); now < end; now = absl::Now()) {
    if (WaitForStop(std::min(end - now, kPauseStep)) || !sink.is_writable()) return false;
  }
  return true;
}

PartnerCenterEmulator::Reply PartnerCenterEmulator::RequestLog() const {
  nlohmann::json log = nlohmann::json::array();
  for (const RecordedRequest& record : requests()) {
    log.push_back(
        {{"method", record.method},
         {"path", record.path},
         {"query", record.query},
         {"headers", record.headers},
         {"status", record.status},
         {"page", record.page.has_value() ? nlohmann::json(*record.page) : nlohmann::json()},
         {"fault", record.fault.has_value() ? nlohmann::json(FaultKindName(*record.fault)) : nlohmann::json()},
         {"completed", record.completed.has_value() ? nlohmann::json(*record.completed) : nlohmann::json()}});
  }
  // Header values are whatever the client sent, not necessarily UTF-8.
  return Reply{200, kJson, log.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

}  // namespace pcusage::emulator
