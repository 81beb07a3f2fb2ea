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
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "tests/emulator/control_routes.h"
#include "tests/emulator/emulator_records.h"
#include "tests/emulator/fault_script.h"
#include "tests/emulator/reply.h"
#include "tests/emulator/token_route.h"
#include "tests/emulator/usage_route.h"

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

  // Binds one socket on `host`:`port` (0 picks a free port; a host name is
  // resolved once, to its first address) and serves on a background
  // thread. INVALID_ARGUMENT for unusable options (among them an invalid
  // fault script, a TLS certificate without a key or the other way round, or
  // TLS files that cannot be loaded or do not match), UNAVAILABLE when the
  // address cannot be bound, FAILED_PRECONDITION when already started.
  absl::Status Start(const std::string& host, int port);
  // The bound port, once started.
  int port() const { return port_; }
  // The numeric address bound ("127.0.0.1", "::1"), once started.
  const std::string& host() const { return host_; }
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
  // A log entry, with the id by which its response completes it.
  struct LogEntry {
    uint64_t id;
    RecordedRequest request;
  };

  // Rejects the options Start refuses, and puts the usage route (with its data set) and the options' fault script in
  // place.
  absl::Status Configure();
  // Binds the server to `host`:`port`, 0 picking a free port, and sets port_.
  absl::Status Bind(const std::string& host, int port);

  // The single entry point for every request on every route: lets ControlRoutes answer /emulator/*, lets Respond
  // decide every other reply, logs it and lets Deliver put it on the wire.
  void Dispatch(const httplib::Request& request, httplib::Response& response);
  // The reply of the route that `request` names; `token_version` is the token endpoint its path names, if any.
  Reply Respond(const httplib::Request& request, std::optional<TokenVersion> token_version) const;
  // Adds the log entry of `request`, answered with `reply`, and returns its id.
  uint64_t Log(const httplib::Request& request, const Reply& reply, bool token_path);
  void Complete(uint64_t log_id, bool completed);
  // Waits up to `timeout`; true as soon as the emulator is stopping.
  bool WaitForStop(absl::Duration timeout);

  // The routes' access to the state below.
  UsageRoute::State UsageState();
  TokenRoute::State TokenState();
  ControlRoutes::State ControlState();

  const EmulatorOptions options_;
  // An httplib::SSLServer when the options name TLS files.
  std::unique_ptr<httplib::Server> server_;
  TokenRoute token_route_;
  ControlRoutes control_routes_;
  // Made by Start, which knows whether the options are valid.
  std::optional<UsageRoute> usage_route_;
  std::thread serve_thread_;
  std::string host_;
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
