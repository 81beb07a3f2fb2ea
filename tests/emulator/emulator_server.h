// PartnerCenterEmulator: an HTTP or HTTPS server on loopback that stands in for
// Partner Center's GET /v1/customers/usagerecords, and for the Microsoft
// identity platform's OAuth2 refresh-token grant, for the demo and for tests
// that point the real client at it. It serves either the seed sample or a
// GeneratedDataset with continuation-token paging, checks the bearer token,
// issues short-lived access tokens and rotates refresh tokens, answers badly
// where a fault script (fault_script.h) says so, and keeps a log of the
// requests it answered for tests to inspect.
#ifndef PCUSAGE_TESTS_EMULATOR_EMULATOR_SERVER_H_
#define PCUSAGE_TESTS_EMULATOR_EMULATOR_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "tests/emulator/dataset.h"
#include "tests/emulator/fault_script.h"

namespace pcusage::emulator {

struct EmulatorOptions {
  enum class Dataset { kSeed, kGenerated };

  // Usage-records requests must carry "Authorization: Bearer <token>", where
  // the token is this one (which never expires; empty for none) or one the
  // token endpoint issued and that has not expired yet.
  std::string access_token = "emulator-token";
  // kSeed answers every request with the seed sample; kGenerated pages through
  // a GeneratedDataset(customers, page_size).
  Dataset dataset = Dataset::kSeed;
  int customers = 250;
  int page_size = 40;
  // A fault script (see fault_script.h) that Start puts in force, replacing
  // one set before; empty for none.
  std::string faults;

  // The token endpoint. It accepts only the newest refresh token, starting
  // with this one; every grant replaces it with a new one. Empty disables the
  // endpoint (its routes answer 404).
  std::string refresh_token;
  // How long the access tokens it issues are accepted; at least a second, as
  // expires_in counts whole seconds (rounded down).
  absl::Duration token_lifetime = absl::Hours(1);
  // The client it serves. With a secret, requests must carry it (a
  // confidential client); without, they must not carry one (a public client).
  std::string client_id = "pcusage-test-client";
  std::string client_secret;

  // PEM files: with both set the emulator serves HTTPS, otherwise HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// What the token endpoint has done since the emulator started, for tests.
struct TokenCounters {
  // Every POST to the token endpoint, failed and faulted ones included.
  int token_requests = 0;
  // Access tokens issued.
  int issued = 0;
  // Times the refresh token was replaced (every grant replaces it).
  int refresh_token_rotations = 0;
  // The one refresh token the endpoint accepts now; tests compare it with what
  // the client stored.
  std::string current_refresh_token;
};

// One request the emulator answered, as its log keeps it.
struct RecordedRequest {
  std::string method;
  std::string path;
  // The raw query string, without the '?'.
  std::string query;
  // Names lowercased; a repeated header's values are joined with ", ".
  std::map<std::string, std::string> headers;
  int status = 0;
  // The usage-records page asked for; unset on other routes and for an
  // unknown continuation token.
  std::optional<int> page;
  // The fault that answered the request, if one did.
  std::optional<FaultKind> fault;
  // Whether the whole response body was written: unset while the response is
  // still being sent, false when the client went away or a fault cut it off.
  std::optional<bool> completed;
};

// Routes:
//   GET  /v1/customers/usagerecords  the emulated Partner Center call
//   POST /{tenant}/oauth2/token      the OAuth2 refresh-token grant of the
//   POST /{tenant}/oauth2/v2.0/token identity platform's v1 and v2.0
//                                    endpoints, any tenant; form-encoded
//   GET  /emulator/requests          the request log as JSON
//   POST /emulator/reset             clears the request log
//   POST /emulator/faults            sets the fault script (the body); 400 and
//                                    the reason when it is not valid
//   DELETE /emulator/faults          clears the fault script
//   GET  /emulator/tokens            TokenCounters as JSON
//   GET  /healthz                    "ok"
// Every response echoes the request's MS-RequestId and MS-CorrelationId. The
// log holds every request except those to /emulator/*; a request's entry is
// added before its response is sent and completed once it has been. Token
// requests are logged without their body and query, and with any
// Authorization header's value redacted, so that no secret reaches the log.
class PartnerCenterEmulator {
 public:
  explicit PartnerCenterEmulator(EmulatorOptions options = {});
  ~PartnerCenterEmulator();

  PartnerCenterEmulator(const PartnerCenterEmulator&) = delete;
  PartnerCenterEmulator& operator=(const PartnerCenterEmulator&) = delete;

  // Binds `host`:`port` (0 picks a free port) and serves on a background
  // thread. INVALID_ARGUMENT for unusable options (among them an invalid
  // fault script, a TLS certificate without a key or the other way round, or
  // TLS files that cannot be loaded or do not match), UNAVAILABLE when the
  // address cannot be bound, FAILED_PRECONDITION when already started.
  absl::Status Start(const std::string& host, int port);
  // The bound port, once started.
  int port() const { return port_; }
  // Stops serving and waits for the background thread; idempotent.
  void Stop();

  // The request log, oldest first.
  std::vector<RecordedRequest> requests() const;

  // Replaces the fault script with `json` (see fault_script.h) and restarts
  // its counts; INVALID_ARGUMENT with the reason, and the script unchanged,
  // when `json` is not a valid script.
  absl::Status SetFaults(absl::string_view json);

  // What the token endpoint has done so far.
  TokenCounters tokens() const;

 private:
  // The identity platform's token endpoint versions, which differ in a few
  // request and response fields.
  enum class TokenVersion { kV1, kV2 };

  // The token endpoint `path` names, if it names one.
  static std::optional<TokenVersion> TokenVersionOf(absl::string_view path);

  struct Reply {
    Reply() = default;
    Reply(int status, std::string content_type, std::string body)
        : status(status), content_type(std::move(content_type)), body(std::move(body)) {}

    int status = 200;
    std::string content_type;
    std::string body;
    // Headers beyond Content-Type and the echoed request ids.
    httplib::Headers headers;
    // The usage-records page and the rule that answers it, as the log keeps
    // them.
    std::optional<int> page;
    std::optional<FaultRule> fault;
  };

  // A log entry, with the id by which its response completes it.
  struct LogEntry {
    uint64_t id;
    RecordedRequest request;
  };

  // The single entry point for every request on every route: answers
  // /emulator/* itself, lets Respond decide every other reply, logs it and
  // lets Send put it on the wire.
  void Dispatch(const httplib::Request& request, httplib::Response& response);
  Reply Control(const httplib::Request& request);
  // Decides the status, headers and body of one emulated request, including
  // the faults that change them.
  Reply Respond(const httplib::Request& request);
  Reply UsageRecords(const httplib::Request& request);
  // Why `authorization` does not grant access to the usage records, as the
  // 401 body describes it; unset when it does.
  std::optional<std::string> AuthorizationFailure(absl::string_view authorization) const;
  // A token request: counts it, and answers it by the fault script or Grant.
  Reply Token(const httplib::Request& request, TokenVersion version);
  // The refresh-token grant: a new access token and refresh token, or the
  // identity platform's error.
  Reply Grant(const httplib::Request& request, TokenVersion version);
  // The page `request` asks for: 0 without a continuation token (and always
  // in seed mode), unset when the token names no page.
  std::optional<int> RequestedPage(const httplib::Request& request) const;
  // Applies the faults that change what is sent (http_status, throttle,
  // truncated_json, invalid_json, html, wrong_types, loop_next) to `reply`, a
  // page or a token response.
  void ApplyContentFault(Reply& reply) const;
  // Puts `reply` on the wire, applying the faults that change how it is sent
  // (slow_first_byte, stall_mid_body, reset_mid_body, huge_body, slow_body),
  // and completes the log entry `log_id` once it has been sent.
  void Send(Reply reply, uint64_t log_id, httplib::Response& response);
  void Complete(uint64_t log_id, bool completed);
  // Waits up to `timeout`; true as soon as the emulator is stopping.
  bool WaitForStop(absl::Duration timeout);
  // Waits `duration` in the middle of a body; false as soon as the emulator
  // is stopping or the client has gone away.
  bool PauseBody(absl::Duration duration, httplib::DataSink& sink);
  Reply RequestLog() const;

  const EmulatorOptions options_;
  std::optional<GeneratedDataset> dataset_;
  // An httplib::SSLServer when the options name TLS files.
  std::unique_ptr<httplib::Server> server_;
  std::thread serve_thread_;
  int port_ = 0;

  mutable absl::Mutex mutex_;
  std::vector<LogEntry> log_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_log_id_ ABSL_GUARDED_BY(mutex_) = 0;
  FaultScript faults_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  TokenCounters token_counters_ ABSL_GUARDED_BY(mutex_);
  // When each access token the token endpoint issued expires.
  std::map<std::string, absl::Time> issued_tokens_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_EMULATOR_SERVER_H_
