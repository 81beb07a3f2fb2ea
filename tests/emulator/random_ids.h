// Random identifiers for what must not repeat: the tokens the token endpoint issues, and the trace and correlation
// ids of the identity platform's error bodies.
#ifndef PCUSAGE_TESTS_EMULATOR_RANDOM_IDS_H_
#define PCUSAGE_TESTS_EMULATOR_RANDOM_IDS_H_

#include <string>

namespace pcusage::emulator {

// `bytes` random bytes in lowercase hex.
std::string RandomHex(int bytes);

// A random GUID in its usual 8-4-4-4-12 form.
std::string NewGuid();

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_RANDOM_IDS_H_
