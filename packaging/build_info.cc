#include "packaging/build_info.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "packaging/build_info_values.h"

namespace pcusage::build_info {
namespace {

// GCC says which sanitizers it compiled with by __SANITIZE_*__ macros, clang by __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define PCUSAGE_ASAN_SUFFIX "+asan"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PCUSAGE_ASAN_SUFFIX "+asan"
#endif
#endif
#ifndef PCUSAGE_ASAN_SUFFIX
#define PCUSAGE_ASAN_SUFFIX ""
#endif
#if defined(__SANITIZE_THREAD__)
#define PCUSAGE_TSAN_SUFFIX "+tsan"
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PCUSAGE_TSAN_SUFFIX "+tsan"
#endif
#endif
#ifndef PCUSAGE_TSAN_SUFFIX
#define PCUSAGE_TSAN_SUFFIX ""
#endif

constexpr char kBuildMode[] = PCUSAGE_COMPILATION_MODE PCUSAGE_ASAN_SUFFIX PCUSAGE_TSAN_SUFFIX;

}  // namespace

absl::string_view Version() { return PCUSAGE_VERSION; }

absl::string_view Commit() { return PCUSAGE_GIT_COMMIT; }

absl::string_view BuildMode() { return kBuildMode; }

std::string VersionText(absl::string_view program) {
  return absl::StrCat(program, " ", Version(), " (commit ", Commit(), ", ", BuildMode(), " build)\n");
}

}  // namespace pcusage::build_info
