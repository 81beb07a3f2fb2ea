// The error bodies the emulator's routes answer with, spelt as the services it stands in for spell them.
#ifndef PCUSAGE_TESTS_EMULATOR_ERROR_BODIES_H_
#define PCUSAGE_TESTS_EMULATOR_ERROR_BODIES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pcusage::emulator {

// Partner Center's: {"code": code, "description": description, "data": [], "source": "PartnerFD"}.
std::string PartnerCenterErrorBody(int code, absl::string_view description);

// The identity platform's, e.g. IdentityPlatformErrorBody("invalid_grant", 70008, "The provided ..."): `error`, an
// error_description "AADSTS<code>: <description>" followed by a fresh trace id, correlation id and timestamp, and those
// again as fields of their own.
std::string IdentityPlatformErrorBody(absl::string_view error, int code, absl::string_view description);

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_ERROR_BODIES_H_
