#include "server/partner_center/json_scalars.h"

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/printable.h"

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

// -?[0-9]+(.[0-9]+)? : decimal text NormalizeDecimal leaves as it is.
bool IsPlainDecimal(absl::string_view text) {
  std::size_t i = (!text.empty() && text.front() == '-') ? 1 : 0;
  const std::size_t integer_start = i;
  while (i < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == integer_start) return false;
  if (i == text.size()) return true;
  if (text[i] != '.') return false;
  const std::size_t fraction_start = ++i;
  while (i < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) ++i;
  return i > fraction_start && i == text.size();
}

// Consumes exactly `digits` ASCII digits into `value`.
bool ConsumeNumber(absl::string_view& text, std::size_t digits, int* value) {
  if (text.size() < digits) return false;
  int number = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return false;
    number = number * 10 + (text[i] - '0');
  }
  text.remove_prefix(digits);
  *value = number;
  return true;
}

// Consumes one character that is one of `accepted`.
bool ConsumeChar(absl::string_view& text, absl::string_view accepted) {
  if (text.empty() || accepted.find(text.front()) == absl::string_view::npos) return false;
  text.remove_prefix(1);
  return true;
}

// Z, z, +hh:mm or -hh:mm, as minutes east of UTC; nothing at all is UTC too. nullopt for anything else.
std::optional<int> ConsumeOffset(absl::string_view& text) {
  if (text.empty()) return 0;
  if (ConsumeChar(text, "Zz")) return 0;
  const bool east = text.front() == '+';
  int hours = 0;
  int minutes = 0;
  if (!ConsumeChar(text, "+-") || !ConsumeNumber(text, 2, &hours) || !ConsumeChar(text, ":") ||
      !ConsumeNumber(text, 2, &minutes) || hours > 23 || minutes > 59) {
    return std::nullopt;
  }
  return (east ? 1 : -1) * (hours * 60 + minutes);
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// The pieces of a decimal's text, as written: [sign] integer [. fraction] [e [exponent_sign] exponent].
struct DecimalParts {
  absl::string_view sign;
  absl::string_view integer;
  bool has_point = false;
  absl::string_view fraction;
  absl::string_view exponent_sign;
  absl::string_view exponent;
};

// Consumes a leading '+' or '-' and returns it (empty when there is none).
absl::string_view ConsumeSign(absl::string_view& text) {
  if (text.empty() || (text.front() != '+' && text.front() != '-')) return {};
  absl::string_view sign = text.substr(0, 1);
  text.remove_prefix(1);
  return sign;
}

// Splits `text` along google.type.Decimal's grammar; nullopt when it does not match.
std::optional<DecimalParts> SplitDecimal(absl::string_view text) {
  DecimalParts parts;
  parts.sign = ConsumeSign(text);
  parts.integer = ConsumeDigits(text);
  if (ConsumeChar(text, ".")) {
    parts.has_point = true;
    parts.fraction = ConsumeDigits(text);
  }
  if (parts.integer.empty() && parts.fraction.empty()) return std::nullopt;
  if (ConsumeChar(text, "eE")) {
    parts.exponent_sign = ConsumeSign(text);
    parts.exponent = ConsumeDigits(text);
    if (parts.exponent.empty()) return std::nullopt;
  }
  if (!text.empty()) return std::nullopt;
  return parts;
}

// A date-time's fields as written, before any range check.
struct CivilTime {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// Consumes "yyyy-mm-ddThh:mm:ss" ('T' in either case).
bool ConsumeCivilTime(absl::string_view& text, CivilTime* time) {
  return ConsumeNumber(text, 4, &time->year) && ConsumeChar(text, "-") && ConsumeNumber(text, 2, &time->month) &&
         ConsumeChar(text, "-") && ConsumeNumber(text, 2, &time->day) && ConsumeChar(text, "Tt") &&
         ConsumeNumber(text, 2, &time->hour) && ConsumeChar(text, ":") && ConsumeNumber(text, 2, &time->minute) &&
         ConsumeChar(text, ":") && ConsumeNumber(text, 2, &time->second);
}

bool IsValidCivilTime(const CivilTime& time) {
  return time.year >= 1 && time.month >= 1 && time.month <= 12 && time.day >= 1 &&
         time.day <= DaysInMonth(time.year, time.month) && time.hour <= 23 && time.minute <= 59 && time.second <= 60;
}

// Consumes an optional ".digits" fraction of a second, kept to the nanosecond; false for a '.' without digits.
bool ConsumeNanos(absl::string_view& text, int32_t* nanos) {
  *nanos = 0;
  if (!ConsumeChar(text, ".")) return true;
  const absl::string_view fraction = ConsumeDigits(text);
  for (std::size_t i = 0; i < 9; ++i) *nanos = *nanos * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  return !fraction.empty();
}

absl::Status NotADecimal(absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat("\"", Printable(text, 40), "\" is not a decimal number"));
}

}  // namespace

absl::StatusOr<std::string> NormalizeDecimal(absl::string_view text) {
  std::string normalized;
  if (absl::Status status = NormalizeDecimalTo(text, &normalized); !status.ok()) return status;
  return normalized;
}

absl::Status NormalizeDecimalTo(absl::string_view text, std::string* out) {
  if (text.size() > kMaxDecimalTextLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("decimal text of ", text.size(), " characters is longer than ", kMaxDecimalTextLength));
  }
  if (IsPlainDecimal(text)) {  // what Partner Center sends nearly always: already normalized
    out->assign(text.data(), text.size());
    return absl::OkStatus();
  }
  const std::optional<DecimalParts> parts = SplitDecimal(text);
  if (!parts.has_value()) return NotADecimal(text);
  out->clear();
  if (parts->sign == "-") out->push_back('-');
  absl::StrAppend(out, parts->integer.empty() ? "0" : parts->integer);
  if (parts->has_point) absl::StrAppend(out, ".", parts->fraction);
  if (!parts->exponent.empty() && !AllZeros(parts->exponent)) {
    absl::StrAppend(out, "E", parts->exponent_sign.empty() ? "+" : parts->exponent_sign, parts->exponent);
  }
  return absl::OkStatus();
}

absl::StatusOr<google::protobuf::Timestamp> ParseRfc3339Timestamp(absl::string_view text) {
  absl::string_view rest = text;
  CivilTime civil;
  int32_t nanos = 0;
  std::optional<int> offset_minutes;
  if (ConsumeCivilTime(rest, &civil) && IsValidCivilTime(civil) && ConsumeNanos(rest, &nanos)) {
    offset_minutes = ConsumeOffset(rest);
  }
  if (!offset_minutes.has_value() || !rest.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", Printable(text, 40), "\" is not an RFC 3339 date-time"));
  }
  const int64_t seconds = DaysFromCivil(civil.year, civil.month, civil.day) * 86400 + int64_t{civil.hour} * 3600 +
                          int64_t{civil.minute} * 60 + civil.second - int64_t{*offset_minutes} * 60;
  // Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
  constexpr int64_t kMinSeconds = -62135596800;
  constexpr int64_t kMaxSeconds = 253402300799;
  if (seconds < kMinSeconds || seconds > kMaxSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("\"", Printable(text, 40), "\" is outside the years 1 to 9999"));
  }
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(nanos);
  return timestamp;
}

}  // namespace pcusage::partner_center
