// The x-www-form-urlencoded spelling of a value, as the token endpoint is sent it (and as an upstream that echoes
// its request repeats it).
#ifndef PCUSAGE_SERVER_COMMON_FORM_ENCODING_H_
#define PCUSAGE_SERVER_COMMON_FORM_ENCODING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pcusage {

// `value` with RFC 3986 unreserved characters kept and every other byte written %XX.
std::string FormEncode(absl::string_view value);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_FORM_ENCODING_H_
