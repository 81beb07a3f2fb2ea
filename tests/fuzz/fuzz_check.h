// Shared by the libFuzzer targets in this directory: FUZZ_CHECK, which turns a broken invariant into a crash the
// fuzzer reports (and saves the input of), and a silent pcusage::LogEvent so that the code under test does not flood
// the fuzzer's output (server/common/log.cc and the metrics catalog are not linked into the targets).
#ifndef PCUSAGE_TESTS_FUZZ_FUZZ_CHECK_H_
#define PCUSAGE_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "server/common/log.h"
#include "server/metrics/pcusage_metrics.h"

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

// Defined once per target, here: each target has one translation unit including this header. Nothing is enabled,
// so no event is even formatted.
bool LogEnabled(LogLevel) { return false; }
void LogEvent(LogLevel, absl::string_view, absl::Span<const LogField>) {}

// The metrics catalog is not linked either: the one event the code under test counts is dropped.
namespace metrics {
void UpstreamRetry(absl::string_view, absl::Duration) {}
}  // namespace metrics

}  // namespace pcusage

#endif  // PCUSAGE_TESTS_FUZZ_FUZZ_CHECK_H_
