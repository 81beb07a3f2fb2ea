#include "server/common/printable.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "server/common/secrets.h"

namespace pcusage {
namespace {

bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// The length of the well-formed UTF-8 sequence `text` starts with, or 0 when it does not start with one (a stray
// continuation byte, a sequence cut short, an overlong form, a surrogate, a code point past U+10FFFF).
std::size_t Utf8SequenceLength(absl::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) return 1;
  const std::size_t length = (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || length > text.size()) return 0;
  uint32_t code = lead & (0xFF >> (length + 1));
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[k]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3F);
  }
  static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  const bool ok = code >= kMinimum[length] && code <= 0x10FFFF && (code < 0xD800 || code > 0xDFFF);
  return ok ? length : 0;
}

}  // namespace

std::string ValidUtf8(absl::string_view text) {
  std::string valid;
  valid.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = Utf8SequenceLength(text.substr(i));
    if (length > 0) {
      valid.append(text.data() + i, length);
      i += length;
    } else {
      valid.push_back('?');
      ++i;
    }
  }
  return valid;
}

std::string Printable(absl::string_view text, std::size_t max_bytes) {
  std::string clean = RedactSecrets(ValidUtf8(text));
  std::replace_if(clean.begin(), clean.end(), IsControl, ' ');
  absl::StripAsciiWhitespace(&clean);
  if (clean.size() > max_bytes) {
    clean.resize(max_bytes);
    // Do not leave part of a UTF-8 sequence at the end.
    std::size_t cut = clean.size();
    while (cut > 0 && (static_cast<unsigned char>(clean[cut - 1]) & 0xC0) == 0x80) --cut;
    if (cut > 0 && (static_cast<unsigned char>(clean[cut - 1]) & 0x80) != 0) {
      const auto lead = static_cast<unsigned char>(clean[cut - 1]);
      const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      if (clean.size() - (cut - 1) < length) clean.resize(cut - 1);
    }
    clean += "...";
  }
  return clean;
}

bool HasControlCharacter(absl::string_view text) { return std::any_of(text.begin(), text.end(), IsControl); }

}  // namespace pcusage
