// Fuzzes the scalar translations of server/partner_center/json_scalars.h with arbitrary text: NormalizeDecimal and
// ParseRfc3339Timestamp.
//
// Beyond "no crash, no sanitizer report" it checks that:
// - NormalizeDecimal accepts only google.type.Decimal's grammar, and what it returns keeps the sign and every digit
//   of the significand exactly (a "0" added before a bare fraction), has the same exponent value written 'E' with a
//   sign (dropped when zero), and is its own normal form;
// - a timestamp ParseRfc3339Timestamp accepts is within Timestamp's range and comes back the same when printed as
//   RFC 3339 and parsed again.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/partner_center/json_scalars.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using pcusage::partner_center::NormalizeDecimal;
using pcusage::partner_center::ParseRfc3339Timestamp;

struct DecimalParts {
  bool negative = false;
  std::string significand;  // digits and at most one '.', as written
  bool has_exponent = false;
  bool exponent_negative = false;
  std::string exponent;  // digits, leading zeros stripped ("" for zero)
};

bool AllDigits(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Splits text of the grammar [+-] digits [. digits] [(e|E) [+-] digits] (one side of '.' may be empty, not both).
bool Split(absl::string_view text, DecimalParts* parts) {
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    parts->negative = text[0] == '-';
    text.remove_prefix(1);
  }
  const std::size_t e = text.find_first_of("eE");
  absl::string_view significand = text.substr(0, e);
  const std::size_t dot = significand.find('.');
  const absl::string_view whole = significand.substr(0, dot);
  const absl::string_view fraction = dot == absl::string_view::npos ? "" : significand.substr(dot + 1);
  if (!AllDigits(whole) || !AllDigits(fraction) || whole.size() + fraction.size() == 0) return false;
  parts->significand = std::string(significand);
  if (e != absl::string_view::npos) {
    absl::string_view exponent = text.substr(e + 1);
    parts->has_exponent = true;
    if (!exponent.empty() && (exponent[0] == '+' || exponent[0] == '-')) {
      parts->exponent_negative = exponent[0] == '-';
      exponent.remove_prefix(1);
    }
    if (exponent.empty() || !AllDigits(exponent)) return false;
    while (!exponent.empty() && exponent[0] == '0') exponent.remove_prefix(1);
    parts->exponent = std::string(exponent);
  }
  return true;
}

void CheckDecimal(absl::string_view text) {
  absl::StatusOr<std::string> normalized = NormalizeDecimal(text);
  DecimalParts in;
  const bool grammatical = Split(text, &in);
  if (!normalized.ok()) {
    FUZZ_CHECK(!grammatical || text.size() > pcusage::partner_center::kMaxDecimalTextLength,
               "rejected the decimal \"%s\": %s", std::string(text).c_str(), normalized.status().ToString().c_str());
    return;
  }
  FUZZ_CHECK(grammatical, "accepted \"%s\", which is not a decimal", std::string(text).c_str());
  DecimalParts out;
  FUZZ_CHECK(Split(*normalized, &out), "\"%s\" gave \"%s\"", std::string(text).c_str(), normalized->c_str());
  const std::string expected_significand = in.significand[0] == '.' ? "0" + in.significand : in.significand;
  FUZZ_CHECK(out.negative == in.negative && out.significand == expected_significand,
             "\"%s\" gave \"%s\": sign or significand changed", std::string(text).c_str(), normalized->c_str());
  const bool zero_exponent = in.exponent.empty();
  FUZZ_CHECK(out.has_exponent == (in.has_exponent && !zero_exponent) &&
                 (!out.has_exponent || (out.exponent == in.exponent && out.exponent_negative == in.exponent_negative)),
             "\"%s\" gave \"%s\": exponent changed", std::string(text).c_str(), normalized->c_str());
  const std::size_t e = normalized->find_first_of("eE");
  if (e != std::string::npos) {
    FUZZ_CHECK((*normalized)[e] == 'E' && ((*normalized)[e + 1] == '+' || (*normalized)[e + 1] == '-'),
               "\"%s\": exponent not written E with a sign", normalized->c_str());
  }
  FUZZ_CHECK(normalized->empty() || (*normalized)[0] != '+', "\"%s\" keeps a '+'", normalized->c_str());
  absl::StatusOr<std::string> again = NormalizeDecimal(*normalized);
  FUZZ_CHECK(again.ok() && *again == *normalized, "\"%s\" is not its own normal form", normalized->c_str());
}

void CheckTimestamp(absl::string_view text) {
  absl::StatusOr<google::protobuf::Timestamp> parsed = ParseRfc3339Timestamp(text);
  if (!parsed.ok()) return;
  FUZZ_CHECK(parsed->seconds() >= -62135596800 && parsed->seconds() <= 253402300799 && parsed->nanos() >= 0 &&
                 parsed->nanos() <= 999999999,
             "\"%s\" gave %lld.%09d, out of range", std::string(text).c_str(),
             static_cast<long long>(parsed->seconds()), parsed->nanos());
  const absl::Time time = absl::FromUnixSeconds(parsed->seconds()) + absl::Nanoseconds(parsed->nanos());
  const std::string printed = absl::FormatTime("%E4Y-%m-%d%ET%H:%M:%E*S%Ez", time, absl::UTCTimeZone());
  absl::StatusOr<google::protobuf::Timestamp> again = ParseRfc3339Timestamp(printed);
  FUZZ_CHECK(again.ok() && again->seconds() == parsed->seconds() && again->nanos() == parsed->nanos(),
             "\"%s\" printed as \"%s\" does not parse back to itself", std::string(text).c_str(), printed.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  CheckDecimal(text);
  CheckTimestamp(text);
  return 0;
}
