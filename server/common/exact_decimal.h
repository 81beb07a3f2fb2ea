// The exact order of decimal numbers written as google.type.Decimal text ("602.84", "-0.5", "1E+2", "80."), for
// comparisons that must never go through a binary float: `79.99999999999999999999` is below `80`, `80.0` equals `80`.
// Pure: parses without allocating and compares digit by digit.
#ifndef PCUSAGE_SERVER_COMMON_EXACT_DECIMAL_H_
#define PCUSAGE_SERVER_COMMON_EXACT_DECIMAL_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pcusage {

// A decimal value read from its text. It points into that text, which must outlive it.
class ExactDecimal {
 public:
  // Reads `text` along google.type.Decimal's grammar: [+|-] digits [. digits] [(e|E) [+|-] digits], with at least
  // one digit in the integer or the fraction; the empty string is 0, as the type says. Leading and trailing zeros
  // and the sign of a zero do not change the value. INVALID_ARGUMENT for anything else, and for an exponent of more
  // than 18 digits (past 10^18 no decimal library callers use reads it either; an exponent of 18 digits or fewer is
  // exact).
  static absl::StatusOr<ExactDecimal> Parse(absl::string_view text);

  // -1, 0 or 1 as `a` is less than, equal to or greater than `b`.
  static int Compare(const ExactDecimal& a, const ExactDecimal& b);

  friend bool operator<(const ExactDecimal& a, const ExactDecimal& b) { return Compare(a, b) < 0; }
  friend bool operator<=(const ExactDecimal& a, const ExactDecimal& b) { return Compare(a, b) <= 0; }
  friend bool operator>(const ExactDecimal& a, const ExactDecimal& b) { return Compare(a, b) > 0; }
  friend bool operator>=(const ExactDecimal& a, const ExactDecimal& b) { return Compare(a, b) >= 0; }
  friend bool operator==(const ExactDecimal& a, const ExactDecimal& b) { return Compare(a, b) == 0; }
  friend bool operator!=(const ExactDecimal& a, const ExactDecimal& b) { return Compare(a, b) != 0; }

 private:
  ExactDecimal() = default;

  // Compare() of two non-zero values' magnitudes.
  static int CompareMagnitudes(const ExactDecimal& a, const ExactDecimal& b);

  // The value is sign × 0.D × 10^exponent, where D, its significant digits (no leading or trailing zero), is
  // `first_` followed by `second_`; zero has no digits and no sign.
  bool IsZero() const { return first_.empty() && second_.empty(); }
  std::size_t DigitCount() const { return first_.size() + second_.size(); }
  char Digit(std::size_t i) const { return i < first_.size() ? first_[i] : second_[i - first_.size()]; }

  bool negative_ = false;
  absl::string_view first_;
  absl::string_view second_;
  int64_t exponent_ = 0;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_EXACT_DECIMAL_H_
