#include "server/tokens/access_token_source.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace pcusage::tokens {
namespace {

TEST(BearerTokenTest, AcceptsBearerOnly) {
  EXPECT_EQ(BearerToken("Bearer abc.def").value(), "abc.def");
  EXPECT_EQ(BearerToken("bearer   abc  ").value(), "abc");
  for (const char* value : {"", "Bearer", "Bearer ", "Basic abc", "abc", "Bearer a b", "Bearer a\tb"}) {
    EXPECT_EQ(BearerToken(value).status().code(), absl::StatusCode::kUnauthenticated) << value;
  }
}

TEST(CallerTokenSourceTest, NeedsTheCallersToken) {
  CallerTokenSource source;
  EXPECT_EQ(source.TokenForCall("Bearer t1", absl::InfiniteFuture()).value(), "t1");
  absl::StatusOr<std::string> missing = source.TokenForCall(std::nullopt, absl::InfiniteFuture());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(missing.status().message().find("--access_token_file"), absl::string_view::npos);
}

class FileTokenSourceTest : public testing::Test {
 protected:
  void Write(const std::string& contents) {
    const std::string temporary = path_ + ".tmp";
    std::ofstream(temporary, std::ios::trunc) << contents;
    ASSERT_EQ(std::rename(temporary.c_str(), path_.c_str()), 0);
  }
  std::string path_ = std::string(std::getenv("TEST_TMPDIR")) + "/token";
};

TEST_F(FileTokenSourceTest, ReadsTrimsAndFollowsChanges) {
  Write("  first-token\n");
  auto source = FileTokenSource::Create(path_);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->TokenForCall("Bearer caller-ignored", absl::InfiniteFuture()).value(), "first-token");
  Write("second-token-longer\n");
  EXPECT_EQ((*source)->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "second-token-longer");
}

TEST_F(FileTokenSourceTest, KeepsTheLastGoodTokenWhenTheFileBreaks) {
  Write("good");
  auto source = FileTokenSource::Create(path_);
  ASSERT_TRUE(source.ok());
  ASSERT_EQ(unlink(path_.c_str()), 0);
  EXPECT_EQ((*source)->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "good");
  Write("   \n");
  EXPECT_EQ((*source)->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "good");
}

TEST_F(FileTokenSourceTest, UnusableFilesAreRejectedAtStart) {
  EXPECT_FALSE(FileTokenSource::Create(path_ + ".missing").ok());
  Write("\n");
  absl::Status empty = FileTokenSource::Create(path_).status();
  EXPECT_EQ(empty.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(empty.message().find("is empty"), absl::string_view::npos);
  Write(std::string(FileTokenSource::kMaxTokenFileBytes + 1, 'x'));
  EXPECT_FALSE(FileTokenSource::Create(path_).ok());
  EXPECT_FALSE(FileTokenSource::Create(std::getenv("TEST_TMPDIR")).ok());  // a directory
  Write("s3cr3t-one\ns3cr3t-two");
  absl::Status two = FileTokenSource::Create(path_).status();
  EXPECT_FALSE(two.ok());
  EXPECT_EQ(two.message().find("s3cr3t"), absl::string_view::npos) << two;
}

}  // namespace
}  // namespace pcusage::tokens
