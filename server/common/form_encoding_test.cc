#include "server/common/form_encoding.h"

#include "gtest/gtest.h"

namespace pcusage {
namespace {

TEST(FormEncodeTest, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(FormEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(FormEncode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
}

}  // namespace
}  // namespace pcusage
