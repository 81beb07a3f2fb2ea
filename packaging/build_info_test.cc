#include "packaging/build_info.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pcusage::build_info {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::MatchesRegex;

// The repository's VERSION file, from the test's runfiles (its working directory).
std::string VersionFile() {
  std::ifstream file("VERSION");
  std::stringstream contents;
  contents << file.rdbuf();
  return std::string(absl::StripAsciiWhitespace(contents.str()));
}

TEST(BuildInfoTest, TheVersionIsTheVersionFiles) {
  const std::string version = VersionFile();
  ASSERT_FALSE(version.empty()) << "VERSION is not in the runfiles";
  EXPECT_EQ(Version(), version);
}

TEST(BuildInfoTest, TheCommitIsAFullHashOrUnstamped) {
  const std::string commit(Commit());
  EXPECT_THAT(commit, AnyOf(Eq("unstamped"), MatchesRegex("[0-9a-f]{40}(-dirty)?")));
}

TEST(BuildInfoTest, TheBuildModeStartsWithBazelsCompilationMode) {
  const std::string mode(BuildMode());
  EXPECT_THAT(mode, MatchesRegex("(opt|dbg|fastbuild)(\\+asan)?(\\+tsan)?"));
}

TEST(BuildInfoTest, VersionTextIsOneLineNamingTheProgramVersionCommitAndMode) {
  EXPECT_EQ(VersionText("pcusage_server"),
            absl::StrCat("pcusage_server ", Version(), " (commit ", Commit(), ", ", BuildMode(), " build)\n"));
}

}  // namespace
}  // namespace pcusage::build_info
