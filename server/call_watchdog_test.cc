#include "server/call_watchdog.h"

#include <atomic>
#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace pcusage {
namespace {

class CallWatchdogTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  CallWatchdog watchdog_{[this] { return now_; }};
};

TEST_F(CallWatchdogTest, CancelsACallOnlyOnceItsDeadlinePasses) {
  int cancels = 0;
  std::unique_ptr<CallWatchdog::Watch> watch = watchdog_.Start([&cancels] { ++cancels; }, now_ + absl::Seconds(10));
  now_ += absl::Seconds(9);
  EXPECT_EQ(watchdog_.CancelExpired(), 0);
  EXPECT_FALSE(watch->fired());
  now_ += absl::Seconds(1);
  EXPECT_EQ(watchdog_.CancelExpired(), 1);
  EXPECT_TRUE(watch->fired());
  EXPECT_EQ(cancels, 1);
  now_ += absl::Hours(1);
  EXPECT_EQ(watchdog_.CancelExpired(), 0);  // once only
  EXPECT_EQ(cancels, 1);
}

TEST_F(CallWatchdogTest, ExpiresCallsInDeadlineOrder) {
  std::string order;
  auto late = watchdog_.Start([&order] { order += "late "; }, now_ + absl::Seconds(30));
  auto early = watchdog_.Start([&order] { order += "early "; }, now_ + absl::Seconds(5));
  auto same = watchdog_.Start([&order] { order += "same "; }, now_ + absl::Seconds(5));
  now_ += absl::Seconds(5);
  EXPECT_EQ(watchdog_.CancelExpired(), 2);
  EXPECT_EQ(order, "early same ");
  EXPECT_EQ(watchdog_.watching(), 1);
  now_ += absl::Minutes(1);
  EXPECT_EQ(watchdog_.CancelExpired(), 1);
  EXPECT_EQ(order, "early same late ");
}

TEST_F(CallWatchdogTest, AFinishedCallIsForgotten) {
  bool cancelled = false;
  {
    auto watch = watchdog_.Start([&cancelled] { cancelled = true; }, now_ + absl::Seconds(1));
    EXPECT_EQ(watchdog_.watching(), 1);
  }
  EXPECT_EQ(watchdog_.watching(), 0);
  now_ += absl::Seconds(2);
  EXPECT_EQ(watchdog_.CancelExpired(), 0);
  EXPECT_FALSE(cancelled);
}

// The real thread, with a deadline a few milliseconds away: it wakes for a watch added while it waits.
TEST(CallWatchdogThreadTest, TheBackgroundThreadCancelsOnTime) {
  CallWatchdog watchdog;
  auto far = watchdog.Start([] {}, absl::Now() + absl::Hours(1));  // the thread now sleeps for an hour
  absl::Notification cancelled;
  auto near = watchdog.Start([&cancelled] { cancelled.Notify(); }, absl::Now() + absl::Milliseconds(20));
  EXPECT_TRUE(cancelled.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(near->fired());
  EXPECT_FALSE(far->fired());
}

}  // namespace
}  // namespace pcusage
