// Fuzzes the error-body parser (ParsePartnerCenterError, server/partner_center/errors.h) and what is built from
// it: ErrorFromResponse for the statuses Partner Center answers with, and ParseRetryAfterMessage on the description,
// with arbitrary bytes as the body of an HTTP error response.
//
// Beyond "no crash, no sanitizer report" it checks that:
// - what is read from a body is safe to quote: the code and description are valid UTF-8 without control
//   characters, the description at most kMaxErrorDescriptionLength (plus "..."), the code at most 64 (plus "...");
// - ErrorFromResponse is never OK, has the code http_status.h gives the HTTP status, a valid UTF-8 message without
//   control characters that carries the request id, and names Partner Center's error code when the body has one.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "server/common/printable.h"
#include "server/http/http_status.h"
#include "server/http/http_transport.h"
#include "server/partner_center/errors.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using pcusage::partner_center::ErrorFromResponse;
using pcusage::partner_center::kMaxErrorDescriptionLength;
using pcusage::partner_center::ParsePartnerCenterError;
using pcusage::partner_center::ParseRetryAfterMessage;
using pcusage::partner_center::PartnerCenterError;

constexpr char kRequestId[] = "0f0e0d0c-0b0a-0908-0706-050403020100";

bool Quotable(const std::string& text) {
  return pcusage::ValidUtf8(text) == text && !pcusage::HasControlCharacter(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const std::optional<PartnerCenterError> error = ParsePartnerCenterError(body);
  if (error.has_value()) {
    FUZZ_CHECK(error->code.has_value() || !error->description.empty(), "an error of nothing");
    FUZZ_CHECK(Quotable(error->description), "description not quotable");
    FUZZ_CHECK(error->description.size() <= kMaxErrorDescriptionLength + 3, "description of %zu bytes",
               error->description.size());
    if (error->code.has_value()) {
      FUZZ_CHECK(Quotable(*error->code), "code not quotable");
      FUZZ_CHECK(error->code->size() <= 64 + 3, "code of %zu bytes", error->code->size());
    }
    if (const std::optional<absl::Duration> delay = ParseRetryAfterMessage(error->description)) {
      FUZZ_CHECK(*delay >= absl::ZeroDuration(), "a negative delay");
    }
  }

  for (int status : {400, 401, 404, 429, 500, 503}) {
    pcusage::http::HttpResponse response;
    response.status_code = status;
    response.body = body;
    if (status == 429) response.headers.push_back({"retry-after", "7"});
    const absl::Status result = ErrorFromResponse(response, kRequestId);
    FUZZ_CHECK(!result.ok(), "HTTP %d became OK", status);
    FUZZ_CHECK(result.code() == pcusage::http::HttpStatusPolicyFor(status).code, "HTTP %d became %s", status,
               result.ToString().c_str());
    const std::string message(result.message());
    FUZZ_CHECK(Quotable(message), "HTTP %d: message not quotable", status);
    FUZZ_CHECK(absl::StrContains(message, kRequestId), "HTTP %d: message without the request id", status);
    if (error.has_value() && error->code.has_value()) {
      FUZZ_CHECK(absl::StrContains(message, *error->code), "HTTP %d: message without the error code", status);
    }
  }
  return 0;
}
