#include "server/call_cancellation.h"

#include "gtest/gtest.h"

namespace pcusage {
namespace {

class ThrottledCancellationTest : public ::testing::Test {
 protected:
  std::function<bool()> Make() {
    return ThrottledCancellation(
        [this] {
          ++asked_;
          return cancelled_;
        },
        absl::Milliseconds(5), [this] { return now_; });
  }

  absl::Time now_ = absl::FromUnixSeconds(1000);
  bool cancelled_ = false;
  int asked_ = 0;
};

TEST_F(ThrottledCancellationTest, AsksAtOnceThenAtMostOncePerInterval) {
  const std::function<bool()> is_cancelled = Make();
  EXPECT_FALSE(is_cancelled());
  EXPECT_FALSE(is_cancelled());
  now_ += absl::Milliseconds(4);
  EXPECT_FALSE(is_cancelled());
  EXPECT_EQ(asked_, 1);
  now_ += absl::Milliseconds(1);
  EXPECT_FALSE(is_cancelled());
  EXPECT_EQ(asked_, 2);
}

TEST_F(ThrottledCancellationTest, ACancelIsSeenAtTheNextAskAndRemembered) {
  const std::function<bool()> is_cancelled = Make();
  EXPECT_FALSE(is_cancelled());
  cancelled_ = true;
  EXPECT_FALSE(is_cancelled());  // within the interval: not asked yet
  now_ += absl::Milliseconds(5);
  EXPECT_TRUE(is_cancelled());
  cancelled_ = false;  // a yes is final whatever the source says later
  now_ += absl::Milliseconds(50);
  EXPECT_TRUE(is_cancelled());
  EXPECT_EQ(asked_, 2);
}

TEST_F(ThrottledCancellationTest, ZeroIntervalAsksEveryTime) {
  const std::function<bool()> is_cancelled = ThrottledCancellation(
      [this] {
        ++asked_;
        return false;
      },
      absl::ZeroDuration(), [this] { return now_; });
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(is_cancelled());
  EXPECT_EQ(asked_, 3);
}

}  // namespace
}  // namespace pcusage
