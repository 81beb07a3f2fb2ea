#include "client_stubs/cpp/utf8.h"

namespace pcusage::client {
namespace {

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// C0 and C1 controls, DEL, and the bidi embeddings, overrides and isolates that would reorder a line.
bool IsUnprintable(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

}  // namespace

char32_t DecodeUtf8(absl::string_view text, std::size_t* length) {
  const auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  *length = 1;
  if (lead < 0x80) return lead;
  std::size_t size;
  char32_t c;
  char32_t smallest;
  if ((lead & 0xE0) == 0xC0) {
    size = 2;
    c = lead & 0x1F;
    smallest = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    size = 3;
    c = lead & 0x0F;
    smallest = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    size = 4;
    c = lead & 0x07;
    smallest = 0x10000;
  } else {
    return kReplacementCharacter;
  }
  if (text.size() < size) return kReplacementCharacter;
  for (std::size_t i = 1; i < size; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return kReplacementCharacter;
    c = (c << 6) | (byte(i) & 0x3F);
  }
  if (c < smallest || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return kReplacementCharacter;
  *length = size;
  return c;
}

void AppendPrintable(absl::string_view text, std::string* out) {
  out->reserve(out->size() + text.size());
  while (!text.empty()) {
    std::size_t length;
    const char32_t c = DecodeUtf8(text, &length);
    if (c == kReplacementCharacter || IsUnprintable(c)) {
      AppendUtf8(kReplacementCharacter, out);
    } else {
      out->append(text.data(), length);
    }
    text.remove_prefix(length);
  }
}

}  // namespace pcusage::client
