#include "server/partner_center/json_scalars.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace pcusage::partner_center {
namespace {

// Consumes a run of ASCII digits from the front of `text` and returns it.
absl::string_view ConsumeDigits(absl::string_view& text) {
  std::size_t n = 0;
  while (n < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[n]))) ++n;
  absl::string_view digits = text.substr(0, n);
  text.remove_prefix(n);
  return digits;
}

bool AllZeros(absl::string_view digits) { return digits.find_first_not_of('0') == absl::string_view::npos; }

absl::Status NotADecimal(absl::string_view text) {
  if (text.size() > 40) text = text.substr(0, 40);
  return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a decimal number"));
}

}  // namespace

absl::StatusOr<std::string> NormalizeDecimal(absl::string_view text) {
  if (text.size() > kMaxDecimalTextLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("decimal text of ", text.size(), " characters is longer than ", kMaxDecimalTextLength));
  }
  absl::string_view rest = text;
  absl::string_view sign;
  if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) {
    sign = rest.substr(0, 1);
    rest.remove_prefix(1);
  }
  const absl::string_view integer = ConsumeDigits(rest);
  bool has_point = false;
  absl::string_view fraction;
  if (!rest.empty() && rest.front() == '.') {
    has_point = true;
    rest.remove_prefix(1);
    fraction = ConsumeDigits(rest);
  }
  if (integer.empty() && fraction.empty()) return NotADecimal(text);

  absl::string_view exponent_sign;
  absl::string_view exponent;
  if (!rest.empty() && (rest.front() == 'e' || rest.front() == 'E')) {
    rest.remove_prefix(1);
    if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) {
      exponent_sign = rest.substr(0, 1);
      rest.remove_prefix(1);
    }
    exponent = ConsumeDigits(rest);
    if (exponent.empty()) return NotADecimal(text);
  }
  if (!rest.empty()) return NotADecimal(text);

  std::string normalized;
  normalized.reserve(text.size() + 1);
  if (sign == "-") normalized.push_back('-');
  absl::StrAppend(&normalized, integer.empty() ? "0" : integer);
  if (has_point) absl::StrAppend(&normalized, ".", fraction);
  if (!exponent.empty() && !AllZeros(exponent)) {
    absl::StrAppend(&normalized, "E", exponent_sign.empty() ? "+" : exponent_sign, exponent);
  }
  return normalized;
}

absl::StatusOr<google::protobuf::Timestamp> ParseRfc3339Timestamp(absl::string_view text) {
  absl::Time time;
  std::string error;
  const std::string input(text);
  if (!absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S%Ez", input, &time, &error) &&
      !absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S", input, absl::UTCTimeZone(), &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text.substr(0, 40), "\" is not an RFC 3339 date-time"));
  }
  // Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
  constexpr int64_t kMinSeconds = -62135596800;
  constexpr int64_t kMaxSeconds = 253402300799;
  const int64_t seconds = absl::ToUnixSeconds(time);
  if (seconds < kMinSeconds || seconds > kMaxSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is outside the years 1 to 9999"));
  }
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
  return timestamp;
}

}  // namespace pcusage::partner_center
