#include "tests/emulator/emulator_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
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

// What the log keeps in place of a secret.
constexpr char kRedacted[] = "[redacted]";
// The usage route's 401 descriptions.
constexpr char kTokenNotValid[] = "Authorization failed: the bearer token is missing or not valid.";
constexpr char kTokenExpired[] = "The access token has expired";

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

// `bytes` random bytes in hex, for tokens and ids that must not repeat.
std::string RandomHex(int bytes) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::string hex;
  while (hex.size() < 2 * static_cast<size_t>(bytes)) absl::StrAppend(&hex, absl::Hex(engine(), absl::kZeroPad16));
  hex.resize(2 * static_cast<size_t>(bytes));
  return hex;
}

// A random GUID in its usual 8-4-4-4-12 form.
std::string NewGuid() {
  const std::string hex = RandomHex(16);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

// The identity platform's error body, e.g. AadErrorBody("invalid_grant", 70008, "The provided ...").
std::string AadErrorBody(absl::string_view error, int code, absl::string_view description) {
  const std::string trace_id = NewGuid();
  const std::string correlation_id = NewGuid();
  const std::string timestamp = absl::FormatTime("%Y-%m-%d %H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  return nlohmann::json{
      {"error", error},
      {"error_description", absl::StrCat("AADSTS", code, ": ", description, "\r\nTrace ID: ", trace_id,
                                         "\r\nCorrelation ID: ", correlation_id, "\r\nTimestamp: ", timestamp)},
      {"error_codes", nlohmann::json::array({code})},
      {"timestamp", timestamp},
      {"trace_id", trace_id},
      {"correlation_id", correlation_id},
      {"error_uri", absl::StrCat("https://login.microsoftonline.com/error?code=", code)}}
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
  if (!options_.tls_cert_file.empty() && !options_.tls_key_file.empty()) {
    server_ = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(), options_.tls_key_file.c_str());
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
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
  // httplib's default also sets SO_REUSEPORT, which would let two emulators
  // share a fixed port without an error.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Idle keep-alive connections hold up Stop() for at most this long.
  server_->set_keep_alive_timeout(1);
  // Without it, Nagle's algorithm and delayed ACKs add ~40 ms to every page on a reused connection.
  server_->set_tcp_nodelay(true);
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
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ < 0) {
    port_ = 0;
    return absl::UnavailableError(absl::StrFormat("cannot listen on %s:%d", host, port));
  }
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

std::optional<PartnerCenterEmulator::TokenVersion> PartnerCenterEmulator::TokenVersionOf(absl::string_view path) {
  // "/{tenant}/oauth2/token" splits into "", tenant, "oauth2", "token".
  const std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() < 4 || !parts[0].empty() || parts[1].empty() || parts[2] != "oauth2") return std::nullopt;
  if (parts.size() == 4 && parts[3] == "token") return TokenVersion::kV1;
  if (parts.size() == 5 && parts[3] == "v2.0" && parts[4] == "token") return TokenVersion::kV2;
  return std::nullopt;
}

void PartnerCenterEmulator::Dispatch(const httplib::Request& request, httplib::Response& response) {
  for (const char* name : kEchoedHeaders) {
    if (request.has_header(name)) {
      response.set_header(name, request.get_header_value(name));
    }
  }
  // A token path is never a control route, not even for a tenant named "emulator".
  const bool token_path = TokenVersionOf(request.path).has_value();
  if (!token_path && absl::StartsWith(request.path, kControlPrefix)) {
    const Reply reply = Control(request);
    response.status = reply.status;
    response.set_content(reply.body, reply.content_type.c_str());
    return;
  }

  Reply reply = Respond(request);
  RecordedRequest record = Record(request);
  if (token_path) {
    // The body, never logged, holds the refresh token and client secret; a client might also put them in the query
    // or an Authorization header.
    if (!record.query.empty()) record.query = kRedacted;
    if (const auto it = record.headers.find("authorization"); it != record.headers.end()) it->second = kRedacted;
  }
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
  if (request.method == "GET" && request.path == "/emulator/tokens") {
    const TokenCounters counters = tokens();
    return Reply{200, kJson,
                 nlohmann::json{{"token_requests", counters.token_requests},
                                {"issued", counters.issued},
                                {"refresh_token_rotations", counters.refresh_token_rotations},
                                {"current_refresh_token", counters.current_refresh_token}}
                     .dump()};
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
  if (request.method == "POST" && !options_.refresh_token.empty()) {
    if (const std::optional<TokenVersion> version = TokenVersionOf(request.path)) {
      return Token(request, *version);
    }
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
  if (const std::optional<std::string> failure = AuthorizationFailure(request.get_header_value("Authorization"))) {
    reply.status = 401;
    reply.body = ErrorBody(900, *failure);
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
    reply.fault = faults_.TakeForPage(*reply.page);
  }
  if (reply.fault.has_value()) ApplyContentFault(reply);
  return reply;
}

std::optional<std::string> PartnerCenterEmulator::AuthorizationFailure(absl::string_view authorization) const {
  // The scheme is case-insensitive.
  if (!absl::StartsWithIgnoreCase(authorization, "Bearer ")) return kTokenNotValid;
  const absl::string_view token = authorization.substr(7);
  if (!options_.access_token.empty() && token == options_.access_token) return std::nullopt;
  absl::MutexLock lock(&mutex_);
  const auto issued = issued_tokens_.find(std::string(token));
  if (issued == issued_tokens_.end()) return kTokenNotValid;
  if (absl::Now() >= issued->second) return kTokenExpired;
  return std::nullopt;
}

PartnerCenterEmulator::Reply PartnerCenterEmulator::Token(const httplib::Request& request, TokenVersion version) {
  std::optional<FaultRule> fault;
  {
    absl::MutexLock lock(&mutex_);
    ++token_counters_.token_requests;
    fault = faults_.TakeForToken();
  }
  // These answer in the endpoint's place; the other faults spoil its real answer.
  const bool replaced =
      fault.has_value() && (fault->kind == FaultKind::kHttpStatus || fault->kind == FaultKind::kInvalidJson ||
                            fault->kind == FaultKind::kHtml);
  Reply reply = replaced ? Reply{200, kJson, ""} : Grant(request, version);
  reply.headers.emplace("Cache-Control", "no-store");
  reply.headers.emplace("Pragma", "no-cache");
  reply.fault = std::move(fault);
  if (reply.fault.has_value()) ApplyContentFault(reply);
  return reply;
}

PartnerCenterEmulator::Reply PartnerCenterEmulator::Grant(const httplib::Request& request, TokenVersion version) {
  const auto error = [](int status, absl::string_view name, int code, absl::string_view description) {
    return Reply{status, kJson, AadErrorBody(name, code, description)};
  };
  const auto missing = [&error](absl::string_view name) {
    return error(400, "invalid_request", 900144,
                 absl::StrCat("The request body must contain the following parameter: '", name, "'."));
  };
  // A form field; unset when absent or empty. No error echoes one: any might be a secret sent in the wrong place.
  const auto field = [&request](const char* name) -> std::optional<std::string> {
    std::string value = request.get_param_value(name);
    if (value.empty()) return std::nullopt;
    return value;
  };

  // The secrets belong in the body; a query string ends up in proxies' logs.
  if (request.target.find('?') != std::string::npos) {
    return error(400, "invalid_request", 9002313,
                 "Invalid request. Request is malformed or invalid: the emulator takes parameters only from the form "
                 "body, not from the query string.");
  }
  const std::optional<std::string> grant_type = field("grant_type");
  if (!grant_type.has_value()) return missing("grant_type");
  if (*grant_type != "refresh_token") {
    return error(400, "invalid_request", 70003, "The app requested an unsupported grant type; use refresh_token.");
  }
  const std::optional<std::string> client_id = field("client_id");
  if (!client_id.has_value()) return missing("client_id");
  if (*client_id != options_.client_id) {
    return error(401, "invalid_client", 700016,
                 "Application with the given identifier was not found in the directory.");
  }
  const std::optional<std::string> client_secret = field("client_secret");
  if (options_.client_secret.empty() && client_secret.has_value()) {
    return error(401, "invalid_client", 700025,
                 "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.");
  }
  if (!options_.client_secret.empty() && !client_secret.has_value()) {
    return error(401, "invalid_client", 7000218,
                 "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }
  if (!options_.client_secret.empty() && *client_secret != options_.client_secret) {
    return error(401, "invalid_client", 7000215, "Invalid client secret provided.");
  }
  const std::optional<std::string> refresh_token = field("refresh_token");
  if (!refresh_token.has_value()) return missing("refresh_token");
  // v1 names the API by "resource", v2.0 by "scope", and rejects "resource".
  const std::optional<std::string> audience = field(version == TokenVersion::kV1 ? "resource" : "scope");
  if (!audience.has_value()) return missing(version == TokenVersion::kV1 ? "resource" : "scope");
  if (version == TokenVersion::kV2 && field("resource").has_value()) {
    return error(400, "invalid_request", 901002, "The 'resource' request parameter is not supported.");
  }

  const absl::Time now = absl::Now();
  nlohmann::json body = {{"token_type", "Bearer"}};
  {
    absl::MutexLock lock(&mutex_);
    // Only the newest refresh token is valid: of two requests that race with the same one, only the first succeeds.
    if (*refresh_token != token_counters_.current_refresh_token) {
      return error(400, "invalid_grant", 70008,
                   "The provided authorization code or refresh token has expired due to inactivity. Send a new "
                   "interactive authorization request for this user and resource.");
    }
    const std::string access_token = absl::StrCat("emulator-access-", RandomHex(24));
    issued_tokens_[access_token] = now + options_.token_lifetime;
    token_counters_.current_refresh_token = absl::StrCat("emulator-refresh-", RandomHex(24));
    ++token_counters_.issued;
    ++token_counters_.refresh_token_rotations;
    body["access_token"] = access_token;
    body["refresh_token"] = token_counters_.current_refresh_token;
  }
  const int64_t lifetime = absl::ToInt64Seconds(options_.token_lifetime);
  if (version == TokenVersion::kV1) {
    // v1 sends its numbers as strings.
    body["expires_in"] = std::to_string(lifetime);
    body["ext_expires_in"] = std::to_string(lifetime);
    body["expires_on"] = std::to_string(absl::ToUnixSeconds(now) + lifetime);
    body["not_before"] = std::to_string(absl::ToUnixSeconds(now));
    body["resource"] = *audience;
    body["scope"] = "user_impersonation";
  } else {
    body["expires_in"] = lifetime;
    body["ext_expires_in"] = lifetime;
    body["scope"] = *audience;
  }
  return Reply{200, kJson, body.dump()};
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
      if (rule.body.has_value()) {
        reply.body = *rule.body;
      } else if (rule.route == FaultRoute::kToken) {
        const bool transient = rule.status == 429 || rule.status >= 500;
        reply.body =
            AadErrorBody(transient ? "temporarily_unavailable" : "invalid_request", rule.error_code, rule.description);
      } else {
        reply.body = ErrorBody(rule.error_code, rule.description);
      }
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
