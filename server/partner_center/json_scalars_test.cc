#include "server/partner_center/json_scalars.h"

#include <string>

#include "gtest/gtest.h"

namespace pcusage::partner_center {
namespace {

struct DecimalCase {
  std::string text;
  std::string normalized;
};

class NormalizeDecimalValidTest : public testing::TestWithParam<DecimalCase> {};

TEST_P(NormalizeDecimalValidTest, KeepsTheDigits) {
  absl::StatusOr<std::string> value = NormalizeDecimal(GetParam().text);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, GetParam().normalized);
}

INSTANTIATE_TEST_SUITE_P(
    Decimals, NormalizeDecimalValidTest,
    testing::Values(DecimalCase{"120.5682999999995904716", "120.5682999999995904716"},
                    DecimalCase{"12.39999999999999985235", "12.39999999999999985235"},
                    DecimalCase{"79228162514264337593543950335", "79228162514264337593543950335"},
                    DecimalCase{"0.0000000000000000000000000001", "0.0000000000000000000000000001"},
                    DecimalCase{"0", "0"}, DecimalCase{"-0.0", "-0.0"}, DecimalCase{"20", "20"},
                    DecimalCase{"1.50", "1.50"}, DecimalCase{"-3.25", "-3.25"}, DecimalCase{"+2.5", "2.5"},
                    DecimalCase{".5", "0.5"}, DecimalCase{"-.5", "-0.5"}, DecimalCase{"5.", "5."},
                    DecimalCase{"1E+2", "1E+2"}, DecimalCase{"1e2", "1E+2"}, DecimalCase{"2.5e-3", "2.5E-3"},
                    DecimalCase{"2.5e8", "2.5E+8"}, DecimalCase{"2.5e0", "2.5"}, DecimalCase{"2.5e+000", "2.5"},
                    DecimalCase{"007", "007"}));

class NormalizeDecimalInvalidTest : public testing::TestWithParam<std::string> {};

TEST_P(NormalizeDecimalInvalidTest, IsRejected) {
  absl::StatusOr<std::string> value = NormalizeDecimal(GetParam());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(NotDecimals, NormalizeDecimalInvalidTest,
                         testing::Values("", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "1,5", "NaN", "Infinity",
                                         "0x10", " 1", "1 ", "1_000", "--1", "1e5.5", "١٢٣",
                                         std::string(kMaxDecimalTextLength + 1, '1')));

TEST(ParseRfc3339TimestampTest, ReadsPartnerCenterForms) {
  struct Case {
    std::string text;
    int64_t seconds;
    int32_t nanos;
  };
  // Expected seconds computed with `date -u -d '<text>' +%s`.
  const Case cases[] = {
      {"2019-08-01T23:00:16.57+00:00", 1564700416, 570000000},
      {"2019-09-17T17:08:11.1433333+00:00", 1568740091, 143333300},
      {"2019-05-28T16:47:45.4430149-07:00", 1559087265, 443014900},
      {"2019-05-28T16:47:45Z", 1559062065, 0},
      {"2019-05-28t16:47:45.123456789z", 1559062065, 123456789},
      {"2019-05-28T16:47:45+05:30", 1559042265, 0},
      {"2019-05-28T16:47:45.5", 1559062065, 500000000},
      {"1969-12-31T23:59:59.9Z", -1, 900000000},
  };
  for (const Case& c : cases) {
    absl::StatusOr<google::protobuf::Timestamp> timestamp = ParseRfc3339Timestamp(c.text);
    ASSERT_TRUE(timestamp.ok()) << c.text << ": " << timestamp.status();
    EXPECT_EQ(timestamp->seconds(), c.seconds) << c.text;
    EXPECT_EQ(timestamp->nanos(), c.nanos) << c.text;
  }
}

TEST(ParseRfc3339TimestampTest, RejectsOtherText) {
  for (const char* text : {"", "yesterday", "2019-05-28", "2019-13-01T00:00:00Z", "2019-05-28 16:47:45Z",
                           "/Date(1559062065000)/", "2019-05-28T16:47:45+0700x", "10000-01-01T00:00:00Z"}) {
    EXPECT_EQ(ParseRfc3339Timestamp(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace pcusage::partner_center
