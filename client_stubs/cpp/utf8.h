// UTF-8 decoding shared by the text renderings of records and budget events (record_format.cc, record_json.cc,
// budget_event_format.cc).
#ifndef PCUSAGE_CLIENT_STUBS_CPP_UTF8_H_
#define PCUSAGE_CLIENT_STUBS_CPP_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace pcusage::client {

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

// Decodes the code point at the start of non-empty `text` and stores the bytes it takes in `length` (at least 1).
// Malformed UTF-8 (bad or missing continuation bytes, overlong forms, surrogates, values above U+10FFFF) decodes
// as U+FFFD of length 1, which a well-formed U+FFFD (3 bytes) never is.
char32_t DecodeUtf8(absl::string_view text, std::size_t* length);

// Appends `text` as it may be shown on a terminal: each control character (C0, DEL, C1), bidi embedding, override
// or isolate, and each byte of malformed UTF-8 as U+FFFD, so that text from the server can neither break a line nor
// reorder it.
void AppendPrintable(absl::string_view text, std::string* out);

}  // namespace pcusage::client

#endif  // PCUSAGE_CLIENT_STUBS_CPP_UTF8_H_
