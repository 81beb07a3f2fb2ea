#include "server/common/guid.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <random>

#include "absl/strings/ascii.h"

namespace pcusage {

namespace {

// SplitMix64 (Steele, Lea and Flood): a step of a process-wide counter that starts at a random point, through a
// bijective mix, so no two calls in a process get the same 64 bits. One atomic add, and no per-thread generator to
// seed (gRPC starts and ends handler threads often, and seeding one per thread cost more than its GUIDs).
uint64_t NextRandom() {
  static std::atomic<uint64_t> counter{[] {
    std::random_device device;
    return (uint64_t{device()} << 32) ^ device();
  }()};
  uint64_t z = counter.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string NewGuid() {
  std::array<uint8_t, 16> bytes;
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t random = NextRandom();
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
