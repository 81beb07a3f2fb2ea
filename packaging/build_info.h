#ifndef PCUSAGE_PACKAGING_BUILD_INFO_H_
#define PCUSAGE_PACKAGING_BUILD_INFO_H_

#include <string>

#include "absl/strings/string_view.h"

// What this binary is: the release version (the repository's VERSION file), the git commit it was built from, and
// how it was compiled. Every pcusage program prints it for --version; see packaging/BUILD for how it is stamped.
namespace pcusage::build_info {

// The release version, e.g. "0.2.0".
absl::string_view Version();

// The full git commit hash the binary was built from, with "-dirty" when the work tree had uncommitted changes;
// "unstamped" unless it was built with `bazel build --stamp` (tools/package does).
absl::string_view Commit();

// Bazel's compilation mode ("opt", "dbg" or "fastbuild"), followed by "+asan" or "+tsan" when the binary was
// compiled with that sanitizer.
absl::string_view BuildMode();

// The text --version prints, one line ending in a newline:
// "<program> <version> (commit <commit>, <build mode> build)".
std::string VersionText(absl::string_view program);

}  // namespace pcusage::build_info

#endif  // PCUSAGE_PACKAGING_BUILD_INFO_H_
