// Shared by the libFuzzer targets in this directory: FUZZ_CHECK, which turns a broken invariant into a crash the
// fuzzer reports (and saves the input of), and a silent pcusage::Log so that the code under test does not flood the
// fuzzer's output (server/common/log.cc is not linked into the targets).
#ifndef PCUSAGE_TESTS_FUZZ_FUZZ_CHECK_H_
#define PCUSAGE_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "server/common/log.h"

#define FUZZ_CHECK(condition, ...)                                                              \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "FUZZ CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #condition); \
      std::fprintf(stderr, "  " __VA_ARGS__);                                                   \
      std::fprintf(stderr, "\n");                                                               \
      std::abort();                                                                             \
    }                                                                                           \
  } while (false)

namespace pcusage {

// Defined once per target, here: each target has one translation unit including this header.
void Log(LogLevel, absl::string_view) {}

}  // namespace pcusage

#endif  // PCUSAGE_TESTS_FUZZ_FUZZ_CHECK_H_
