#include "server/partner_center/errors.h"

#include <map>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "server/common/printable.h"
#include "server/http/http_status.h"

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

absl::Status ErrorFromResponse(const http::HttpResponse& response, absl::string_view request_id) {
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
  const http::HttpStatusPolicy mapping = http::HttpStatusPolicyFor(response.status_code);
  return WithErrorInfo(absl::Status(mapping.code, message), mapping.reason, metadata);
}

std::optional<absl::Duration> ParseRetryAfterMessage(absl::string_view message) {
  constexpr absl::string_view kPhrase = "try again in ";
  const std::string lower = absl::AsciiStrToLower(message);
  absl::string_view rest = lower;
  const std::size_t at = rest.find(kPhrase);
  if (at == absl::string_view::npos) return std::nullopt;
  rest.remove_prefix(at + kPhrase.size());
  std::size_t digits = 0;
  while (digits < rest.size() && absl::ascii_isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
  int64_t seconds = 0;
  if (digits == 0 || !absl::SimpleAtoi(rest.substr(0, digits), &seconds)) return std::nullopt;
  rest = absl::StripLeadingAsciiWhitespace(rest.substr(digits));
  if (!absl::StartsWith(rest, "second")) return std::nullopt;
  return absl::Seconds(seconds);
}

}  // namespace pcusage::partner_center
