// PartnerCenterEmulator: an HTTP server on loopback that stands in for Partner
// Center's GET /v1/customers/usagerecords, for the demo and for tests that
// point the real client at it. It serves either the seed sample or a
// GeneratedDataset with continuation-token paging, checks the bearer token,
// and keeps a log of the requests it answered for tests to inspect.
#ifndef PCUSAGE_TESTS_EMULATOR_EMULATOR_SERVER_H_
#define PCUSAGE_TESTS_EMULATOR_EMULATOR_SERVER_H_

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"
#include "tests/emulator/dataset.h"

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
};

// Routes:
//   GET  /v1/customers/usagerecords  the emulated Partner Center call
//   GET  /emulator/requests          the request log as JSON
//   POST /emulator/reset             clears the request log
//   GET  /healthz                    "ok"
// Every response echoes the request's MS-RequestId and MS-CorrelationId. The
// log holds every request except those to /emulator/*.
class PartnerCenterEmulator {
 public:
  explicit PartnerCenterEmulator(EmulatorOptions options = {});
  ~PartnerCenterEmulator();

  PartnerCenterEmulator(const PartnerCenterEmulator&) = delete;
  PartnerCenterEmulator& operator=(const PartnerCenterEmulator&) = delete;

  // Binds `host`:`port` (0 picks a free port) and serves on a background
  // thread. INVALID_ARGUMENT for unusable options, UNAVAILABLE when the
  // address cannot be bound, FAILED_PRECONDITION when already started.
  absl::Status Start(const std::string& host, int port);
  // The bound port, once started.
  int port() const { return port_; }
  // Stops serving and waits for the background thread; idempotent.
  void Stop();

  // The request log, oldest first.
  std::vector<RecordedRequest> requests() const;

 private:
  struct Reply {
    int status = 200;
    std::string content_type;
    std::string body;
  };

  // The single entry point for every request on every route: answers
  // /emulator/* itself, lets Respond decide every other reply, echoes the
  // request ids and logs the exchange.
  void Dispatch(const httplib::Request& request, httplib::Response& response);
  // Decides the reply to one emulated request: the one place where scripted
  // faults (429s, 5xx, delays, truncation) keyed on request order would go.
  Reply Respond(const httplib::Request& request);
  Reply UsageRecords(const httplib::Request& request) const;
  Reply RequestLog() const;

  const EmulatorOptions options_;
  std::optional<GeneratedDataset> dataset_;
  httplib::Server server_;
  std::thread serve_thread_;
  int port_ = 0;

  mutable absl::Mutex mutex_;
  std::vector<RecordedRequest> log_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_EMULATOR_SERVER_H_
