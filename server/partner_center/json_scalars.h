// Exact translations of Partner Center's scalar JSON values into their protobuf forms: decimal text into a
// google.type.Decimal value, RFC 3339 text into a google.protobuf.Timestamp. Pure functions.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_JSON_SCALARS_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_JSON_SCALARS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"

namespace pcusage::partner_center {

// The longest decimal text accepted; .NET decimals need at most ~31 characters.
inline constexpr std::size_t kMaxDecimalTextLength = 256;

// Returns `text` as a google.type.Decimal value when it matches that type's grammar
// ([+-] digits [. digits] [(e|E) [+-] digits], at least one digit in the significand). The digits are kept
// exactly, trailing zeros included; only the normalizations the type recommends are applied: a leading '+'
// dropped, "0" before a bare fraction (".5" -> "0.5"), the exponent written 'E' with an explicit sign
// ("2.5e8" -> "2.5E+8"), and an all-zero exponent dropped. INVALID_ARGUMENT for anything else.
absl::StatusOr<std::string> NormalizeDecimal(absl::string_view text);

// NormalizeDecimal into `out` (replacing its contents), without an allocation of its own.
absl::Status NormalizeDecimalTo(absl::string_view text, std::string* out);

// Parses an RFC 3339 date-time such as "2019-05-28T16:47:45.4430149-07:00" (any number of fractional digits,
// kept to the nanosecond; 'Z' or a numeric offset +hh:mm; 'T' and 'Z' in either case). A date-time without an
// offset is taken as UTC, as Partner Center's servers run in UTC. A leap second (:60) is the second after :59.
// INVALID_ARGUMENT for anything else, or for a time outside Timestamp's range (years 1-9999).
absl::StatusOr<google::protobuf::Timestamp> ParseRfc3339Timestamp(absl::string_view text);

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_JSON_SCALARS_H_
