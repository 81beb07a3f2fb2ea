// Text from outside (Partner Center bodies, customer names, header values) made safe to quote in a status message
// or a log line: no secret (secrets.h), one line, no control characters, bounded length. The one sanitizer upstream
// text goes through.
#ifndef PCUSAGE_SERVER_COMMON_PRINTABLE_H_
#define PCUSAGE_SERVER_COMMON_PRINTABLE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace pcusage {

// `text` as well-formed UTF-8 (other bytes become '?'), secrets redacted, control characters replaced by spaces,
// surrounding whitespace trimmed, and cut to at most `max_bytes` (at a UTF-8 character boundary, "..." appended) when
// longer.
std::string Printable(absl::string_view text, std::size_t max_bytes);

// `text` with each byte that is not part of a well-formed UTF-8 sequence replaced by '?': status messages travel as
// proto3 strings, which other languages' parsers reject when they are not UTF-8.
std::string ValidUtf8(absl::string_view text);

// Whether `text` holds a control character (below 0x20, or 0x7f).
bool HasControlCharacter(absl::string_view text);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_PRINTABLE_H_
