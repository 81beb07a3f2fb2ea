#include "server/common/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pcusage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string TempPath(const std::string& name) { return std::string(std::getenv("TEST_TMPDIR")) + "/" + name; }

TEST(ReadSmallFileTest, ReadsARegularFileUpToTheLimit) {
  const std::string path = TempPath("small");
  std::ofstream(path) << "0123456789";
  EXPECT_EQ(ReadSmallFile(path, 10).value(), "0123456789");
  absl::StatusOr<std::string> too_big = ReadSmallFile(path, 9);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(too_big.status().message()), AllOf(HasSubstr(path), Not(HasSubstr("0123"))));
}

TEST(ReadSmallFileTest, MissingFilesAreUnavailable) {
  absl::StatusOr<std::string> missing = ReadSmallFile(TempPath("does-not-exist"), 100);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("No such file"));
}

TEST(ReadSmallFileTest, AFifoIsRefusedWithoutBlocking) {
  const std::string path = TempPath("fifo");
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  EXPECT_EQ(ReadSmallFile(path, 100).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadSmallFile(std::string(std::getenv("TEST_TMPDIR")), 100).status().code(),
            absl::StatusCode::kFailedPrecondition);  // a directory
}

TEST(AtomicWriteTest, ReplacesTheFileWithTheGivenMode) {
  const std::string path = TempPath("atomic");
  std::ofstream(path) << "old";
  ASSERT_TRUE(AtomicWrite(path, "new contents", 0600).ok());
  EXPECT_EQ(ReadSmallFile(path, 100).value(), "new contents");
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_TRUE(AtomicWrite(path, "public", 0644).ok());
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
}

TEST(AtomicWriteTest, AnUnwritableDirectoryLeavesNothingBehind) {
  absl::Status status = AtomicWrite(TempPath("no-such-dir/file"), "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("no-such-dir"));
}

TEST(FileVersionTest, ChangesWhenTheFileIsReplaced) {
  const std::string path = TempPath("versioned");
  std::ofstream(path) << "one";
  const std::optional<FileVersion> first = FileVersion::Of(path);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->regular);
  ASSERT_TRUE(AtomicWrite(path, "two!").ok());
  EXPECT_NE(FileVersion::Of(path), first);
  EXPECT_FALSE(FileVersion::Of(TempPath("absent")).has_value());
}

}  // namespace
}  // namespace pcusage
