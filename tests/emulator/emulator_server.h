// PartnerCenterEmulator: an HTTP server on loopback that stands in for Partner
// Center's GET /v1/customers/usagerecords, for the demo and for tests that
// point the real client at it. It serves either the seed sample or a
// GeneratedDataset with continuation-token paging, checks the bearer token,
// answers badly where a fault script (fault_script.h) says so, and keeps a log
// of the requests it answered for tests to inspect.
#ifndef PCUSAGE_TESTS_EMULATOR_EMULATOR_SERVER_H_
#define PCUSAGE_TESTS_EMULATOR_EMULATOR_SERVER_H_

#include <cstdint>
#include <map>
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

  // Requests must carry "Authorization: Bearer <access_token>".
  std::string access_token = "emulator-token";
  // kSeed answers every request with the seed sample; kGenerated pages through
  // a GeneratedDataset(customers, page_size).
  Dataset dataset = Dataset::kSeed;
  int customers = 250;
  int page_size = 40;
  // A fault script (see fault_script.h) that Start puts in force, replacing
  // one set before; empty for none.
  std::string faults;
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
//   GET  /emulator/requests          the request log as JSON
//   POST /emulator/reset             clears the request log
//   POST /emulator/faults            sets the fault script (the body); 400 and
//                                    the reason when it is not valid
//   DELETE /emulator/faults          clears the fault script
//   GET  /healthz                    "ok"
// Every response echoes the request's MS-RequestId and MS-CorrelationId. The
// log holds every request except those to /emulator/*; a request's entry is
// added before its response is sent and completed once it has been.
class PartnerCenterEmulator {
 public:
  explicit PartnerCenterEmulator(EmulatorOptions options = {});
  ~PartnerCenterEmulator();

  PartnerCenterEmulator(const PartnerCenterEmulator&) = delete;
  PartnerCenterEmulator& operator=(const PartnerCenterEmulator&) = delete;

  // Binds `host`:`port` (0 picks a free port) and serves on a background
  // thread. INVALID_ARGUMENT for unusable options (an invalid fault script
  // among them), UNAVAILABLE when the address cannot be bound,
  // FAILED_PRECONDITION when already started.
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

 private:
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
  // The page `request` asks for: 0 without a continuation token (and always
  // in seed mode), unset when the token names no page.
  std::optional<int> RequestedPage(const httplib::Request& request) const;
  // Applies the faults that change what is sent (http_status, throttle,
  // truncated_json, invalid_json, html, wrong_types, loop_next) to `reply`.
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
  httplib::Server server_;
  std::thread serve_thread_;
  int port_ = 0;

  mutable absl::Mutex mutex_;
  std::vector<LogEntry> log_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_log_id_ ABSL_GUARDED_BY(mutex_) = 0;
  FaultScript faults_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_EMULATOR_SERVER_H_
