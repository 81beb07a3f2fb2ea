#include "server/common/guid.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace pcusage {
namespace {

TEST(GuidTest, NewGuidsAreVersion4AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string guid = NewGuid();
    ASSERT_TRUE(IsGuid(guid)) << guid;
    EXPECT_EQ(guid[14], '4') << guid;
    EXPECT_NE(std::string("89ab").find(guid[19]), std::string::npos) << guid;
    seen.insert(guid);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(GuidTest, IsGuidAcceptsOnlyTheHyphenatedForm) {
  EXPECT_TRUE(IsGuid("aaaa0000-bb11-2222-33cc-444444dddddd"));
  EXPECT_TRUE(IsGuid("E128C8E2-4C33-4940-A3E2-2E59B0ABDC67"));
  EXPECT_FALSE(IsGuid(""));
  EXPECT_FALSE(IsGuid("{e128c8e2-4c33-4940-a3e2-2e59b0abdc67}"));
  EXPECT_FALSE(IsGuid("e128c8e24c334940a3e22e59b0abdc67"));
  EXPECT_FALSE(IsGuid("g128c8e2-4c33-4940-a3e2-2e59b0abdc67"));
  EXPECT_FALSE(IsGuid("e128c8e2-4c33-4940-a3e2-2e59b0abdc6\n"));
}

}  // namespace
}  // namespace pcusage
