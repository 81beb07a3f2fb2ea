// The control API under /emulator/, by which tests and the demo inspect and steer a running emulator: the request log
// as JSON and its reset, the token endpoint's counters, setting and clearing the fault script, and editing the
// generated data set between walks (the routes are
// listed in emulator_server.h). Control requests are never logged.
#ifndef PCUSAGE_TESTS_EMULATOR_CONTROL_ROUTES_H_
#define PCUSAGE_TESTS_EMULATOR_CONTROL_ROUTES_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "httplib.h"
#include "tests/emulator/emulator_records.h"
#include "tests/emulator/reply.h"

namespace pcusage::emulator {

inline constexpr absl::string_view kControlPrefix = "/emulator/";

class ControlRoutes {
 public:
  // The emulator state the routes read and change; each call is atomic.
  struct State {
    // The request log, oldest first.
    std::function<std::vector<RecordedRequest>()> requests;
    std::function<void()> clear_log;
    std::function<TokenCounters()> tokens;
    // Replaces the fault script and restarts its counts; INVALID_ARGUMENT with the reason, and the script unchanged,
    // for an invalid one.
    std::function<absl::Status(absl::string_view json)> set_faults;
    std::function<void()> clear_faults;
    // Applies edits to the generated data set (UsageRoute::EditDataset).
    std::function<absl::Status(absl::string_view json)> edit_dataset;
  };

  explicit ControlRoutes(State state);

  // The reply to a request whose path starts with kControlPrefix; 404 when it names no control route.
  Reply Answer(const httplib::Request& request) const;

 private:
  State state_;
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_CONTROL_ROUTES_H_
