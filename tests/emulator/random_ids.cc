#include "tests/emulator/random_ids.h"

#include <cstddef>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"

namespace pcusage::emulator {

std::string RandomHex(int bytes) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::string hex;
  while (hex.size() < 2 * static_cast<size_t>(bytes)) absl::StrAppend(&hex, absl::Hex(engine(), absl::kZeroPad16));
  hex.resize(2 * static_cast<size_t>(bytes));
  return hex;
}

std::string NewGuid() {
  const std::string hex = RandomHex(16);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

}  // namespace pcusage::emulator
