#include "server/common/exact_decimal.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/printable.h"

namespace pcusage {
namespace {

// The longest exponent read, in digits once its leading zeros are gone: any such exponent and any digit count a
// text can have add up within int64_t.
constexpr std::size_t kMaxExponentDigits = 18;

// Removes a run of ASCII digits from the front of `text` and returns it.
absl::string_view TakeDigits(absl::string_view& text) {
  std::size_t n = 0;
  while (n < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[n]))) ++n;
  const absl::string_view digits = text.substr(0, n);
  text.remove_prefix(n);
  return digits;
}

// Removes a leading '+' or '-' from `text`; true when it was '-'.
bool TakeSign(absl::string_view& text) {
  if (text.empty() || (text.front() != '+' && text.front() != '-')) return false;
  const bool negative = text.front() == '-';
  text.remove_prefix(1);
  return negative;
}

absl::string_view WithoutTrailingZeros(absl::string_view digits) {
  const std::size_t last = digits.find_last_not_of('0');
  return last == absl::string_view::npos ? absl::string_view() : digits.substr(0, last + 1);
}

// `text` quoted for a message: it may be a caller's, so it goes through the one sanitizer, shortened.
std::string Quoted(absl::string_view text) { return absl::StrCat("\"", Printable(text, 40), "\""); }

}  // namespace

absl::StatusOr<ExactDecimal> ExactDecimal::Parse(absl::string_view text) {
  ExactDecimal value;
  absl::string_view rest = text;
  if (rest.empty()) return value;  // google.type.Decimal: the empty string is 0
  const bool negative = TakeSign(rest);
  const absl::string_view integer = TakeDigits(rest);
  absl::string_view fraction;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    fraction = TakeDigits(rest);
  }
  const auto not_a_decimal = [text] {
    return absl::InvalidArgumentError(absl::StrCat(Quoted(text), " is not a decimal number"));
  };
  if (integer.empty() && fraction.empty()) return not_a_decimal();
  int64_t exponent = 0;
  if (!rest.empty() && (rest.front() == 'e' || rest.front() == 'E')) {
    rest.remove_prefix(1);
    const bool exponent_negative = TakeSign(rest);
    absl::string_view digits = TakeDigits(rest);
    if (digits.empty()) return not_a_decimal();
    digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
    if (digits.size() > kMaxExponentDigits) {
      return absl::InvalidArgumentError(
          absl::StrCat(Quoted(text), " has an exponent of more than ", kMaxExponentDigits, " digits"));
    }
    for (const char digit : digits) exponent = exponent * 10 + (digit - '0');
    if (exponent_negative) exponent = -exponent;
  }
  if (!rest.empty()) return not_a_decimal();

  // The significant digits start at the first non-zero digit, of the integer or else of the fraction.
  if (const std::size_t zeros = integer.find_first_not_of('0'); zeros != absl::string_view::npos) {
    value.first_ = integer.substr(zeros);
    value.second_ = fraction;
    value.exponent_ = exponent + static_cast<int64_t>(value.first_.size());
  } else if (const std::size_t fraction_zeros = fraction.find_first_not_of('0');
             fraction_zeros != absl::string_view::npos) {
    value.first_ = fraction.substr(fraction_zeros);
    value.exponent_ = exponent - static_cast<int64_t>(fraction_zeros);
  } else {
    return value;  // a zero, of either sign
  }
  value.second_ = WithoutTrailingZeros(value.second_);
  if (value.second_.empty()) value.first_ = WithoutTrailingZeros(value.first_);
  value.negative_ = negative;
  return value;
}

int ExactDecimal::Compare(const ExactDecimal& a, const ExactDecimal& b) {
  const auto sign = [](const ExactDecimal& value) { return value.IsZero() ? 0 : (value.negative_ ? -1 : 1); };
  const int a_sign = sign(a);
  const int b_sign = sign(b);
  if (a_sign != b_sign) return a_sign < b_sign ? -1 : 1;
  // The same sign: compare magnitudes, then turn the answer around for negative values.
  return a_sign == 0 ? 0 : a_sign * CompareMagnitudes(a, b);
}

int ExactDecimal::CompareMagnitudes(const ExactDecimal& a, const ExactDecimal& b) {
  if (a.exponent_ != b.exponent_) return a.exponent_ < b.exponent_ ? -1 : 1;
  const std::size_t common = std::min(a.DigitCount(), b.DigitCount());
  for (std::size_t i = 0; i < common; ++i) {
    if (a.Digit(i) != b.Digit(i)) return a.Digit(i) < b.Digit(i) ? -1 : 1;
  }
  // Neither ends in a zero, so the one with more digits is the larger.
  if (a.DigitCount() == b.DigitCount()) return 0;
  return a.DigitCount() < b.DigitCount() ? -1 : 1;
}

}  // namespace pcusage
