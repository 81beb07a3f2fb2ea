// UTF-8 decoding shared by the text renderings of records (record_format.cc, record_json.cc).
#ifndef PCUSAGE_CLIENT_STUBS_CPP_UTF8_H_
#define PCUSAGE_CLIENT_STUBS_CPP_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace pcusage::client {

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

// Decodes the code point at the start of non-empty `text` and stores the bytes it takes in `length` (at least 1).
// Malformed UTF-8 (bad or missing continuation bytes, overlong forms, surrogates, values above U+10FFFF) decodes
// as U+FFFD of length 1, which a well-formed U+FFFD (3 bytes) never is.
char32_t DecodeUtf8(absl::string_view text, std::size_t* length);

}  // namespace pcusage::client

#endif  // PCUSAGE_CLIENT_STUBS_CPP_UTF8_H_
