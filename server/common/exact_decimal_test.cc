#include "server/common/exact_decimal.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pcusage {
namespace {

using ::testing::HasSubstr;

// -1, 0 or 1: how `a` compares with `b`; both must parse.
int Order(const std::string& a, const std::string& b) {
  const absl::StatusOr<ExactDecimal> left = ExactDecimal::Parse(a);
  const absl::StatusOr<ExactDecimal> right = ExactDecimal::Parse(b);
  EXPECT_TRUE(left.ok()) << a << ": " << left.status();
  EXPECT_TRUE(right.ok()) << b << ": " << right.status();
  if (!left.ok() || !right.ok()) return 2;
  return ExactDecimal::Compare(*left, *right);
}

// Checks a < b both ways round, so a comparison that ignored its arguments' order would fail.
void ExpectLess(const std::string& a, const std::string& b) {
  EXPECT_EQ(Order(a, b), -1) << a << " < " << b;
  EXPECT_EQ(Order(b, a), 1) << b << " > " << a;
}

void ExpectEqual(const std::string& a, const std::string& b) {
  EXPECT_EQ(Order(a, b), 0) << a << " == " << b;
  EXPECT_EQ(Order(b, a), 0) << b << " == " << a;
}

TEST(ExactDecimalTest, DigitsPastWhatADoubleHoldsDecide) {
  ExpectLess("79.99999999999999999999", "80");
  ExpectLess("80", "80.00000000000000000001");
  ExpectLess("120.5682999999995904716", "120.5682999999995904717");
  ExpectLess("99999999999999999999.99999999", "100000000000000000000");
  // 0.1 + 0.2 in binary is 0.30000000000000004; these are exact.
  ExpectLess("0.3", "0.30000000000000004");
}

TEST(ExactDecimalTest, TrailingAndLeadingZerosDoNotChangeTheValue) {
  ExpectEqual("80.0", "80");
  ExpectEqual("80.", "80");
  ExpectEqual("080", "80.000");
  ExpectEqual("0000.5", ".5");
  ExpectEqual("0.50", "0.5");
  ExpectEqual("100", "100.0");
  ExpectLess("10", "100");
  ExpectLess("0.05", "0.5");
  ExpectLess("009", "10");
}

TEST(ExactDecimalTest, ZeroHasNoSign) {
  ExpectEqual("0", "-0");
  ExpectEqual("-0.0", "+0");
  ExpectEqual("0E+5", "0.000");
  ExpectEqual("", "0");  // google.type.Decimal: the empty string is 0
  ExpectLess("-0.0000001", "-0");
  ExpectLess("0", "0.0000001");
}

TEST(ExactDecimalTest, NegativeValuesOrderByMagnitudeTurnedAround) {
  ExpectLess("-80", "-79.99999999999999999999");
  ExpectLess("-100", "-99");
  ExpectLess("-1", "1");
  ExpectLess("-0.5", "0.25");
  ExpectEqual("-80.0", "-80");
  ExpectLess("-1E+3", "-999.9");
}

TEST(ExactDecimalTest, ExponentsShiftThePoint) {
  ExpectEqual("1E+2", "100");
  ExpectEqual("2.5e8", "250000000");
  ExpectEqual("2.5E-1", "0.25");
  ExpectEqual("8E1", "80");
  ExpectEqual("0.8E+2", "80.0");
  ExpectEqual("800E-1", "80");
  ExpectEqual("1E+000000000000000000002", "100");  // leading zeros of an exponent do not count
  ExpectLess("7.999E+1", "80");
  ExpectLess("1E-999999999999999999", "1E-999999999999999998");
  ExpectLess("1E+999999999999999998", "1E+999999999999999999");
  ExpectLess("9E+999999999999999998", "1E+999999999999999999");
  ExpectLess("-1E+999999999999999999", "-9E+999999999999999998");
  ExpectLess("1E-999999999999999999", "0.0000000000000000000000000000001");
}

TEST(ExactDecimalTest, SignsAreExplicitOrNot) {
  ExpectEqual("+2.5", "2.5");
  ExpectLess("-2.5", "+2.5");
  ExpectEqual("+.5", "0.5");
}

TEST(ExactDecimalTest, TheOrderIsTotalOverASortedList) {
  // Sorted by hand, with equal neighbours grouped; every pair must agree with the list's order.
  const std::vector<std::vector<std::string>> sorted = {
      {"-1E+3", "-1000.00"},
      {"-602.84"},
      {"-80", "-80.0", "-8E+1"},
      {"-79.99999999999999999999"},
      {"-0.5", "-.5"},
      {"0", "-0", "0.0", ""},
      {"1E-30"},
      {"0.5", "5E-1"},
      {"28.08"},
      {"79.99999999999999999999"},
      {"80", "80.0", "080.", "8.0E1"},
      {"80.00000000000000000001"},
      {"100", "1E+2"},
      {"602.84"},
  };
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    for (std::size_t j = 0; j < sorted.size(); ++j) {
      for (const std::string& a : sorted[i]) {
        for (const std::string& b : sorted[j]) {
          EXPECT_EQ(Order(a, b), i < j ? -1 : (i == j ? 0 : 1)) << a << " vs " << b;
        }
      }
    }
  }
}

TEST(ExactDecimalTest, RefusesWhatIsNoDecimal) {
  for (const char* text : {"+", "-", ".", "-.", "e5", "1e", "1E+", "1.2.3", "1,5", "1 000", " 1", "1 ", "0x10", "NaN",
                           "Infinity", "1e5.5", "--1", "1_000", "١٢"}) {
    const absl::StatusOr<ExactDecimal> parsed = ExactDecimal::Parse(text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(parsed.status().message(), HasSubstr("is not a decimal number")) << text;
  }
}

TEST(ExactDecimalTest, RefusesAnExponentPastEighteenDigits) {
  const absl::StatusOr<ExactDecimal> parsed = ExactDecimal::Parse("1E+1000000000000000000");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("exponent of more than 18 digits"));
  EXPECT_TRUE(ExactDecimal::Parse("1E+999999999999999999").ok());
  EXPECT_TRUE(ExactDecimal::Parse("1E-0000000000000000000000000001").ok());
}

TEST(ExactDecimalTest, OperatorsAgreeWithCompare) {
  const ExactDecimal low = *ExactDecimal::Parse("79.99999999999999999999");
  const ExactDecimal high = *ExactDecimal::Parse("80");
  const ExactDecimal same = *ExactDecimal::Parse("80.0");
  EXPECT_TRUE(low < high);
  EXPECT_TRUE(low <= high);
  EXPECT_FALSE(low >= high);
  EXPECT_TRUE(high >= same);
  EXPECT_TRUE(high <= same);
  EXPECT_TRUE(high == same);
  EXPECT_FALSE(high != same);
  EXPECT_TRUE(high > low);
}

}  // namespace
}  // namespace pcusage
