#include "server/drain.h"

#include <memory>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"

namespace pcusage {
namespace {

TEST(DrainTest, NeitherDrainingNorExpiredBeforeBegin) {
  Drain drain;
  EXPECT_FALSE(drain.draining());
  EXPECT_FALSE(drain.Expired());
}

TEST(DrainTest, DrainingAtOnceExpiredOnlyAtTheDeadline) {
  Drain drain;
  drain.Begin(absl::Now() + absl::Hours(1));
  EXPECT_TRUE(drain.draining());
  EXPECT_FALSE(drain.Expired());

  Drain past;
  past.Begin(absl::Now() - absl::Seconds(1));
  EXPECT_TRUE(past.Expired());
}

TEST(DrainTest, TheFirstDeadlineCounts) {
  Drain drain;
  drain.Begin(absl::Now() - absl::Seconds(1));
  drain.Begin(absl::Now() + absl::Hours(1));
  EXPECT_TRUE(drain.Expired());
}

TEST(DrainTest, AwaitCallsEndedReturnsWhenTheLastCallEnds) {
  Drain drain;
  auto call = std::make_unique<Drain::Call>(drain);
  EXPECT_EQ(drain.running_calls(), 1);
  EXPECT_FALSE(drain.AwaitCallsEnded(absl::Now() + absl::Milliseconds(10)));
  std::thread ender([&call] { call.reset(); });
  EXPECT_TRUE(drain.AwaitCallsEnded(absl::Now() + absl::Minutes(1)));
  ender.join();
  EXPECT_EQ(drain.running_calls(), 0);
}

TEST(DrainTest, StatusesAreUnavailableWithTheDrainingReason) {
  for (const absl::Status& status : {Drain::RefusedStatus(), Drain::EndedStatus()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    ASSERT_TRUE(GetErrorInfo(status).has_value());
    EXPECT_EQ(GetErrorInfo(status)->reason(), reason::kServerDraining);
  }
}

}  // namespace
}  // namespace pcusage
