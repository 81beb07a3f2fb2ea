#include "tests/emulator/control_routes.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/fault_script.h"

namespace pcusage::emulator {
namespace {

// GET /emulator/requests: one object per entry, with null for what the entry leaves unset.
std::string RequestLogJson(const std::vector<RecordedRequest>& log) {
  nlohmann::json entries = nlohmann::json::array();
  for (const RecordedRequest& record : log) {
    entries.push_back(
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
  return entries.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string TokenCountersJson(const TokenCounters& counters) {
  return nlohmann::json{{"token_requests", counters.token_requests},
                        {"issued", counters.issued},
                        {"refresh_token_rotations", counters.refresh_token_rotations},
                        {"current_refresh_token", counters.current_refresh_token}}
      .dump();
}

}  // namespace

ControlRoutes::ControlRoutes(State state) : state_(std::move(state)) {}

Reply ControlRoutes::Answer(const httplib::Request& request) const {
  if (request.method == "GET" && request.path == "/emulator/requests") {
    return Reply{200, kJsonContentType, RequestLogJson(state_.requests())};
  }
  if (request.method == "POST" && request.path == "/emulator/reset") {
    state_.clear_log();
    return Reply{200, kTextContentType, "reset\n"};
  }
  if (request.method == "GET" && request.path == "/emulator/tokens") {
    return Reply{200, kJsonContentType, TokenCountersJson(state_.tokens())};
  }
  if (request.path == "/emulator/faults") {
    if (request.method == "POST") {
      if (absl::Status status = state_.set_faults(request.body); !status.ok()) {
        return Reply{400, kTextContentType, absl::StrCat(status.message(), "\n")};
      }
      return Reply{200, kTextContentType, "faults set\n"};
    }
    if (request.method == "DELETE") {
      state_.clear_faults();
      return Reply{200, kTextContentType, "faults cleared\n"};
    }
  }
  if (request.method == "POST" && request.path == "/emulator/dataset") {
    if (absl::Status status = state_.edit_dataset(request.body); !status.ok()) {
      return Reply{400, kTextContentType, absl::StrCat(status.message(), "\n")};
    }
    return Reply{200, kTextContentType, "dataset changed\n"};
  }
  return Reply{404, kTextContentType, "no such emulator route\n"};
}

}  // namespace pcusage::emulator
