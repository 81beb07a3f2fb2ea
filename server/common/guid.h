// GUIDs for Partner Center's MS-RequestId and MS-CorrelationId headers.
#ifndef PCUSAGE_SERVER_COMMON_GUID_H_
#define PCUSAGE_SERVER_COMMON_GUID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pcusage {

// A version 4 GUID in lowercase 8-4-4-4-12 form, from a generator seeded once per process: unique in the process,
// random-looking, and no secret. Thread safe.
std::string NewGuid();

// Whether `text` is a GUID in 8-4-4-4-12 hex form (either case), without braces.
bool IsGuid(absl::string_view text);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_GUID_H_
