#include "tests/emulator/seed_sample.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace pcusage::emulator {
namespace {

std::string ReadRunfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  std::ifstream in(absl::StrCat(srcdir ? srcdir : ".", "/",
                                workspace ? workspace : "pcusage", "/", path),
                   std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

TEST(SeedSampleTest, EqualsTheDataFileByteForByte) {
  const std::string file =
      ReadRunfile("tests/emulator/data/sample-usagerecords-response.json");
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(SeedSampleResponse(), file);
}

}  // namespace
}  // namespace pcusage::emulator
