#include "server/common/guid.h"

#include <array>
#include <cstdint>
#include <random>

#include "absl/strings/ascii.h"

namespace pcusage {

std::string NewGuid() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::array<uint8_t, 16> bytes;
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t random = generator();
    for (std::size_t j = 0; j < 8; ++j) bytes[i + j] = static_cast<uint8_t>(random >> (8 * j));
  }
  bytes[6] = (bytes[6] & 0x0F) | 0x40;  // version 4
  bytes[8] = (bytes[8] & 0x3F) | 0x80;  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string guid;
  guid.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) guid.push_back('-');
    guid.push_back(kHex[bytes[i] >> 4]);
    guid.push_back(kHex[bytes[i] & 0x0F]);
  }
  return guid;
}

bool IsGuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

}  // namespace pcusage
