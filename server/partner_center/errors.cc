#include "server/partner_center/errors.h"

#include <map>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "server/common/printable.h"

namespace pcusage::partner_center {
namespace {

std::optional<std::string> ScalarText(const nlohmann::json& value) {
  if (value.is_string()) return Printable(value.get<std::string>(), 64);
  if (value.is_number()) return value.dump();
  return std::nullopt;
}

}  // namespace

std::optional<PartnerCenterError> ParsePartnerCenterError(absl::string_view body) {
  const nlohmann::json json = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  PartnerCenterError error;
  for (const char* code_name : {"code", "statusCode"}) {
    if (auto it = json.find(code_name); it != json.end()) {
      if (std::optional<std::string> code = ScalarText(*it)) {
        error.code = *std::move(code);
        break;
      }
    }
  }
  for (const char* text_name : {"description", "message"}) {
    if (auto it = json.find(text_name); it != json.end() && it->is_string()) {
      error.description = Printable(it->get<std::string>(), kMaxErrorDescriptionLength);
      break;
    }
  }
  if (!error.code.has_value() && error.description.empty()) return std::nullopt;
  return error;
}

HttpErrorMapping MapHttpStatus(int http_status) {
  using absl::StatusCode;
  switch (http_status) {
    case 400:
      return {StatusCode::kInternal, reason::kPartnerCenterRejected};
    case 401:
      return {StatusCode::kUnauthenticated, reason::kPartnerCenterUnauthenticated};
    case 403:
      return {StatusCode::kPermissionDenied, reason::kPartnerCenterPermissionDenied};
    case 404:
      return {StatusCode::kNotFound, reason::kPartnerCenterNotFound};
    case 408:
      return {StatusCode::kDeadlineExceeded, reason::kPartnerCenterTimeout};
    case 409:
      return {StatusCode::kAborted, reason::kPartnerCenterRejected};
    case 412:
      return {StatusCode::kFailedPrecondition, reason::kPartnerCenterRejected};
    case 429:
      return {StatusCode::kResourceExhausted, reason::kRateLimited};
    case 501:
      return {StatusCode::kUnimplemented, reason::kPartnerCenterUnavailable};
    default:
      break;
  }
  if (http_status >= 500 && http_status <= 599) return {StatusCode::kUnavailable, reason::kPartnerCenterUnavailable};
  if (http_status >= 400 && http_status <= 499)
    return {StatusCode::kFailedPrecondition, reason::kPartnerCenterRejected};
  // Redirects are not followed (they could carry the token elsewhere); anything else is not an answer either.
  return {StatusCode::kInternal, reason::kPartnerCenterBadResponse};
}

absl::Status ErrorFromResponse(const HttpResponse& response, absl::string_view request_id) {
  std::map<std::string, std::string> metadata = {{"http_status", absl::StrCat(response.status_code)},
                                                 {"ms_request_id", std::string(request_id)}};
  std::string message = absl::StrCat("Partner Center answered HTTP ", response.status_code);
  if (std::optional<PartnerCenterError> error = ParsePartnerCenterError(response.body)) {
    if (error->code.has_value()) {
      absl::StrAppend(&message, ", error code ", *error->code);
      metadata["partner_center_error_code"] = *error->code;
    }
    if (!error->description.empty()) absl::StrAppend(&message, ": ", error->description);
  }
  if (std::optional<std::string> retry_after = response.Header("retry-after")) {
    absl::StrAppend(&message, " (Retry-After: ", Printable(*retry_after, 64), ")");
  }
  absl::StrAppend(&message, " [MS-RequestId ", request_id, "]");
  const HttpErrorMapping mapping = MapHttpStatus(response.status_code);
  return WithErrorInfo(absl::Status(mapping.code, message), mapping.reason, metadata);
}

}  // namespace pcusage::partner_center
