// What a PartnerCenterEmulator records for tests to inspect: the entries of its request log and the counts of what its
// token endpoint has done. emulator_server.h includes this header; include that one.
#ifndef PCUSAGE_TESTS_EMULATOR_EMULATOR_RECORDS_H_
#define PCUSAGE_TESTS_EMULATOR_EMULATOR_RECORDS_H_

#include <map>
#include <optional>
#include <string>

#include "tests/emulator/fault_script.h"

namespace pcusage::emulator {

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

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_EMULATOR_RECORDS_H_
