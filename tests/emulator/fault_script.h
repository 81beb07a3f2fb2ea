// Fault scripts: which emulator requests are answered badly, and how: GET /v1/customers/usagerecords (the usage
// route) and POST /{tenant}/oauth2[/v2.0]/token (the token route). This comment is the reference for the script format;
// README.md only summarizes it.
//
// A script is a JSON array of rules, applied in order:
//
//   [{"page": 2, "fault": "throttle", "retry_after": "1"},
//    {"page": 1, "times": 2, "fault": "http_status", "status": 503},
//    {"route": "token", "fault": "http_status", "status": 503}]
//
// Every rule has
//   "route"  string, "usage" (default) or "token": the route whose requests the rule answers.
//   "page"   int >= 0, required on the usage route and not allowed on the token route: the page a request asks for.
//            Page 0 is the request without MS-ContinuationToken, page k the request carrying the token of page k. In
//            seed mode every request is page 0.
//   "fault"  string, required: the kind of fault, below.
//   "times"  int, default 1: how many matching requests the rule answers; -1 answers every one.
// A request is answered by the first rule for its route (and page) whose times are not used up; once they are, later
// requests go to the next rule for them, or are served normally when there is none. Counts start when the script is
// set. On the usage route, requests that fail authentication or name an unknown continuation token are answered as
// usual and use up no rule; on the token route every POST to an enabled token endpoint takes the next rule, whatever
// it carries. Unknown fields are errors, so that a misspelt parameter fails loudly.
//
// Fault kinds and their parameters (integers unless marked as strings):
//   "http_status"      "status" (200..599, required); "retry_after" (string, sent verbatim as Retry-After);
//                      "error_code" (default: status); "description" (string). The body is Partner Center's error
//                      body {"code": error_code, "description": ..., "data": [], "source": "PartnerFD"}, unless
//                      "body" (string) gives the body verbatim. Content-Type application/json. On the token route
//                      the body is the identity platform's instead: {"error": "temporarily_unavailable" for 429 and
//                      5xx, else "invalid_request", "error_description": "AADSTS<error_code>: <description> ...",
//                      "error_codes": [error_code], ...}.
//   "throttle"         HTTP 429 with {"statusCode": 429, "message": "Rate limit is exceeded. Try again in N
//                      seconds."}, N = "message_seconds" (>= 0, default 1). Retry-After is "retry_after" (string:
//                      seconds or an HTTP date), and absent when that is not given.
//   "slow_first_byte"  waits "delay_ms" (>= 0, required) before the response, then serves the page.
//   "stall_mid_body"   sends the first half of the page, pauses "delay_ms" (>= 0, required), then sends the rest.
//   "reset_mid_body"   declares the page's full Content-Length, sends its first half and closes the connection.
//   "truncated_json"   a complete HTTP 200 whose body is the first half of the page.
//   "invalid_json"     HTTP 200, application/json, body <html><body>Service Unavailable</body></html>.
//   "html"             HTTP 200, text/html, an HTML sign-in page.
//   "wrong_types"      the page with its first item's "totalCost" set to true (an empty page gets one item
//                      {"totalCost": true}).
//   "huge_body"        the page with an extra top-level member "padding" holding "bytes" (>= 0, required) 'x'
//                      characters, streamed without being held in memory.
//   "loop_next"        the page with a links.next whose MS-ContinuationToken names this same page, so a client
//                      that does not notice keeps asking for it.
//   "slow_body"        the page with chunked transfer in small chunks, one every "chunk_ms" (>= 1, default 100), over
//                      about "duration_ms" (>= 0, default 10000); a client that goes away stops the transfer.
// The token route takes http_status, slow_first_byte, stall_mid_body, reset_mid_body, truncated_json, invalid_json and
// html, with the token response in place of the page. http_status, invalid_json and html answer instead of the token
// endpoint, which then neither issues a token nor rotates the refresh token; the others spoil the real answer, so the
// grant happens and the refresh token rotates even though the client may never read the new one.
// Every faulty response still echoes MS-RequestId and MS-CorrelationId.
#ifndef PCUSAGE_TESTS_EMULATOR_FAULT_SCRIPT_H_
#define PCUSAGE_TESTS_EMULATOR_FAULT_SCRIPT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pcusage::emulator {

enum class FaultKind {
  kHttpStatus,
  kThrottle,
  kSlowFirstByte,
  kStallMidBody,
  kResetMidBody,
  kTruncatedJson,
  kInvalidJson,
  kHtml,
  kWrongTypes,
  kHugeBody,
  kLoopNext,
  kSlowBody,
};

// The kind's name in scripts and in the request log, e.g. "http_status".
absl::string_view FaultKindName(FaultKind kind);

// The emulator route a rule answers requests of.
enum class FaultRoute {
  // GET /v1/customers/usagerecords.
  kUsage,
  // POST /{tenant}/oauth2/token and /{tenant}/oauth2/v2.0/token.
  kToken,
};

// One rule of a script. Only the parameters of its kind are meaningful; the others keep their defaults.
struct FaultRule {
  FaultRoute route = FaultRoute::kUsage;
  // Usage route only.
  int page = 0;
  // -1 means every matching request.
  int times = 1;
  FaultKind kind = FaultKind::kHttpStatus;

  // http_status.
  int status = 0;
  int error_code = 0;
  std::string description;
  std::optional<std::string> body;
  // http_status and throttle.
  std::optional<std::string> retry_after;
  // throttle.
  int message_seconds = 1;
  // slow_first_byte and stall_mid_body.
  absl::Duration delay;
  // slow_body.
  absl::Duration chunk_interval = absl::Milliseconds(100);
  absl::Duration duration = absl::Milliseconds(10000);
  // huge_body.
  int64_t padding_bytes = 0;
};

// The rules of `json`, or INVALID_ARGUMENT naming the first problem and the rule it is in.
absl::StatusOr<std::vector<FaultRule>> ParseFaultScript(absl::string_view json);

// A script with its counts of used-up times: hands each request the rule that answers it.
class FaultScript {
 public:
  FaultScript() = default;
  explicit FaultScript(std::vector<FaultRule> rules);

  // The rule that answers the next usage-route request for `page`, counting it as used; none when the page is served
  // normally.
  std::optional<FaultRule> TakeForPage(int page);
  // The rule that answers the next token-route request, counting it as used; none when it is answered normally.
  std::optional<FaultRule> TakeForToken();

 private:
  std::optional<FaultRule> Take(FaultRoute route, int page);

  struct Entry {
    FaultRule rule;
    int used = 0;
  };
  std::vector<Entry> entries_;
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_FAULT_SCRIPT_H_
