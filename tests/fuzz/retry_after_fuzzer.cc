// Fuzzes Retry-After parsing with arbitrary text: the header (http::ParseRetryAfterHeader, delay-seconds or an
// HTTP-date) and Partner Center's throttling message (partner_center::ParseRetryAfterMessage, "... Try again in 7
// seconds.").
//
// Beyond "no crash, no sanitizer report" it checks that:
// - a delay is never negative (an HTTP-date in the past is no wait);
// - delay-seconds (digits, surrounding whitespace allowed) are exactly that many seconds, too many digits to count
//   an infinite delay, and the same digits in a throttling message the same delay;
// - a delay read from a message is exactly the digits after "try again in " (any case).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/http/retry_policy.h"
#include "server/partner_center/errors.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using pcusage::http::ParseRetryAfterHeader;
using pcusage::partner_center::ParseRetryAfterMessage;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void CheckHeader(absl::string_view text) {
  const std::optional<absl::Duration> delay = ParseRetryAfterHeader(text, kNow);
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (AllDigits(trimmed)) {
    FUZZ_CHECK(delay.has_value(), "delay-seconds \"%s\" not read", std::string(text).c_str());
    int64_t seconds = 0;
    if (absl::SimpleAtoi(trimmed, &seconds)) {
      FUZZ_CHECK(*delay == absl::Seconds(seconds), "\"%s\" read as %s", std::string(text).c_str(),
                 absl::FormatDuration(*delay).c_str());
      const std::optional<absl::Duration> from_message =
          ParseRetryAfterMessage(absl::StrCat("Rate limit is exceeded. Try again in ", trimmed, " seconds."));
      FUZZ_CHECK(from_message == delay, "the message with \"%s\" seconds read as %s", std::string(trimmed).c_str(),
                 from_message ? absl::FormatDuration(*from_message).c_str() : "nothing");
    } else {
      FUZZ_CHECK(*delay == absl::InfiniteDuration(), "\"%s\" read as %s", std::string(text).c_str(),
                 absl::FormatDuration(*delay).c_str());
    }
    return;
  }
  if (!delay.has_value()) return;
  FUZZ_CHECK(*delay >= absl::ZeroDuration(), "\"%s\" read as the negative %s", std::string(text).c_str(),
             absl::FormatDuration(*delay).c_str());
}

void CheckMessage(absl::string_view text) {
  const std::optional<absl::Duration> delay = ParseRetryAfterMessage(text);
  if (!delay.has_value()) return;
  FUZZ_CHECK(*delay >= absl::ZeroDuration(), "\"%s\" read as the negative %s", std::string(text).c_str(),
             absl::FormatDuration(*delay).c_str());
  const std::string lower = absl::AsciiStrToLower(text);
  const std::size_t at = lower.find("try again in ");
  FUZZ_CHECK(at != std::string::npos, "a delay from \"%s\"", std::string(text).c_str());
  absl::string_view rest = absl::string_view(lower).substr(at + 13);
  std::size_t digits = 0;
  while (digits < rest.size() && absl::ascii_isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
  int64_t seconds = -1;
  FUZZ_CHECK(absl::SimpleAtoi(rest.substr(0, digits), &seconds) && *delay == absl::Seconds(seconds),
             "\"%s\" read as %s", std::string(text).c_str(), absl::FormatDuration(*delay).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  CheckHeader(text);
  CheckMessage(text);
  return 0;
}
