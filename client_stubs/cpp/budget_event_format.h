// Text renderings of WatchBudgets messages (docs/api.md, "Budget watch") for `pcusage_cli watch`: a line for people
// watching a terminal, or protobuf JSON for scripts; and the decimal text a threshold must be. Pure functions.
#ifndef PCUSAGE_CLIENT_STUBS_CPP_BUDGET_EVENT_FORMAT_H_
#define PCUSAGE_CLIENT_STUBS_CPP_BUDGET_EVENT_FORMAT_H_

#include <string>

#include "absl/time/time.h"
#include "partnercenter/usage/v1/usage_records.pb.h"

namespace pcusage::client {

// Appends the message as protobuf's canonical JSON on one line, then '\n': lowerCamel field names, no whitespace,
// unset fields left out, enums by name, decimals as {"value":"<text>"} with the text unchanged. False, with `out`
// unchanged, when protobuf cannot print it (a timestamp outside years 1-9999).
bool AppendWatchResponseJsonLine(const partnercenter::usage::v1::WatchBudgetsResponse& response, std::string* out);

// Appends one line for people, ending in '\n', its fields two spaces apart: `received` (RFC 3339, UTC, whole
// seconds), then what happened padded to one width (LEVEL, CROSSED_UP, CROSSED_DOWN, GONE; COMPLETE for the end of
// the level; POLL_FAILED), then
//   - for a budget event: the threshold with "%" (right-aligned), the customer's tenant id, "used <percent>%"
//     ("used -" without percent_used) followed, except in the level, by " (was <previous>%)" or " (was -)", then
//     "snapshot <snapshot_time>" (RFC 3339, UTC), then the customer's name;
//   - for the end of the level: "initial state complete, <n> matching customers";
//   - for a failed poll: the code's name, the ErrorInfo reason when there is one, the message, how many polls in a
//     row have failed, and when the next is tried.
// Text from the server prints with control characters, bidi overrides and malformed UTF-8 as U+FFFD, so one message
// is always one line and cannot garble the terminal; a missing value prints as "-", an unprintable timestamp as
// "invalid". A message this client does not know (a newer server's) prints as "UNKNOWN".
void AppendWatchEventLine(const partnercenter::usage::v1::WatchBudgetsResponse& response, absl::Time received,
                          std::string* out);

}  // namespace pcusage::client

#endif  // PCUSAGE_CLIENT_STUBS_CPP_BUDGET_EVENT_FORMAT_H_
