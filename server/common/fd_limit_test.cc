#include "server/common/fd_limit.h"

#include <sys/resource.h>

#include "gtest/gtest.h"

namespace pcusage {
namespace {

TEST(FdLimitTest, RaisesTheSoftLimitToTheHardLimit) {
  struct rlimit limit {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_NE(limit.rlim_max, RLIM_INFINITY);  // Linux never allows an unlimited RLIMIT_NOFILE
  ASSERT_GT(limit.rlim_max, 64u);
  limit.rlim_cur = 64;  // as low as a hostile environment might leave it
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);

  absl::StatusOr<FdLimit> raised = RaiseFdLimitToHard();
  ASSERT_TRUE(raised.ok()) << raised.status();
  EXPECT_EQ(raised->before, 64u);
  EXPECT_EQ(raised->after, limit.rlim_max);
  struct rlimit now {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, limit.rlim_max);
  EXPECT_EQ(now.rlim_max, limit.rlim_max);  // the hard limit is left as it was

  // Already at the hard limit: nothing changes.
  absl::StatusOr<FdLimit> again = RaiseFdLimitToHard();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->before, limit.rlim_max);
  EXPECT_EQ(again->after, limit.rlim_max);
}

}  // namespace
}  // namespace pcusage
