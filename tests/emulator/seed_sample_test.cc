#include "tests/emulator/seed_sample.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/runfiles.h"

namespace pcusage::emulator {
namespace {

TEST(SeedSampleTest, EqualsTheDataFileByteForByte) {
  const std::string file = testing::ReadRunfile("tests/emulator/data/sample-usagerecords-response.json");
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(SeedSampleResponse(), file);
}

}  // namespace
}  // namespace pcusage::emulator
