#include "client_stubs/cpp/utf8.h"

namespace pcusage::client {

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

}  // namespace pcusage::client
