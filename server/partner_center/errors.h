// Turns a Partner Center HTTP error response into an absl::Status a caller can act on: the code and reason follow
// the HTTP status (server/http/http_status.h), the message carries Partner Center's own error code and description.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_ERRORS_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_ERRORS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/http/http_transport.h"

namespace pcusage::partner_center {

// The longest description kept from an error body (Partner Center documents 1024 characters).
inline constexpr std::size_t kMaxErrorDescriptionLength = 1024;

// What an error body said, in either of Partner Center's shapes: {"code", "description"} or, for throttling,
// {"statusCode", "message"}.
struct PartnerCenterError {
  std::optional<std::string> code;
  std::string description;  // trimmed, control characters replaced, at most kMaxErrorDescriptionLength
};

// Reads an error body; nullopt when it is not JSON of either shape.
std::optional<PartnerCenterError> ParsePartnerCenterError(absl::string_view body);

// Reads Partner Center's throttling message, "Rate limit is exceeded. Try again in 7 seconds.", for the delay.
std::optional<absl::Duration> ParseRetryAfterMessage(absl::string_view message);

// The status for a non-2xx response to the request with id `request_id`. The message names the HTTP status,
// Partner Center's error code and description when the body has them, Retry-After when sent, and the request id;
// the ErrorInfo carries the reason and metadata http_status, partner_center_error_code and ms_request_id.
absl::Status ErrorFromResponse(const http::HttpResponse& response, absl::string_view request_id);

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_ERRORS_H_
