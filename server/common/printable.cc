#include "server/common/printable.h"

#include <algorithm>

#include "absl/strings/ascii.h"

namespace pcusage {
namespace {

bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

}  // namespace

std::string Printable(absl::string_view text, std::size_t max_bytes) {
  std::string clean(text);
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
