#include "server/budget_levels.h"

#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"

namespace pcusage::budget_watch {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kA[] = "aaaaaaaa-0000-0000-0000-000000000001";
constexpr char kB[] = "bbbbbbbb-0000-0000-0000-000000000002";

google::protobuf::RepeatedPtrField<google::type::Decimal> Decimals(const std::vector<std::string>& texts) {
  google::protobuf::RepeatedPtrField<google::type::Decimal> decimals;
  for (const std::string& text : texts) decimals.Add()->set_value(text);
  return decimals;
}

Thresholds Make(const std::vector<std::string>& texts) {
  absl::StatusOr<Thresholds> thresholds = Thresholds::FromRequest(Decimals(texts));
  EXPECT_TRUE(thresholds.ok()) << thresholds.status();
  return *thresholds;
}

v1::CustomerMonthlyUsageRecord Record(const std::string& id, std::optional<std::string> percent_used) {
  v1::CustomerMonthlyUsageRecord record;
  record.set_resource_id(id);
  if (percent_used.has_value()) record.mutable_percent_used()->set_value(*percent_used);
  return record;
}

using Records = std::vector<v1::CustomerMonthlyUsageRecord>;

// What a poll listed.
Records Poll(Records records) { return records; }

// An event as "KIND threshold id previous": previous is "-" when unset.
std::string Show(const v1::BudgetEvent& event) {
  return v1::BudgetEvent::Kind_Name(event.kind()) + " " + event.threshold().value() + " " +
         event.record().resource_id() + " " +
         (event.has_previous_percent_used() ? event.previous_percent_used().value() : "-") + " now " +
         (event.record().has_percent_used() ? event.record().percent_used().value() : "-");
}

std::vector<std::string> Show(const std::vector<v1::BudgetEvent>& events) {
  std::vector<std::string> shown;
  shown.reserve(events.size());
  for (const v1::BudgetEvent& event : events) shown.push_back(Show(event));
  return shown;
}

TEST(ThresholdsTest, DefaultIs80And100) {
  const Thresholds thresholds = Make({});
  ASSERT_EQ(thresholds.size(), 2);
  EXPECT_EQ(thresholds.text(0), "80");
  EXPECT_EQ(thresholds.text(1), "100");
}

TEST(ThresholdsTest, SortedByValueAndEqualValuesCountOnceAsFirstSpelled) {
  const Thresholds thresholds = Make({"100", "8E+1", "80.0", "9.5", "1E+2"});
  ASSERT_EQ(thresholds.size(), 3);
  EXPECT_EQ(thresholds.text(0), "9.5");
  EXPECT_EQ(thresholds.text(1), "8E+1");
  EXPECT_EQ(thresholds.text(2), "100");
}

TEST(ThresholdsTest, NotADecimalIsRejectedNamingTheEntry) {
  const absl::StatusOr<Thresholds> thresholds = Thresholds::FromRequest(Decimals({"80", "eighty"}));
  ASSERT_EQ(thresholds.status().code(), absl::StatusCode::kInvalidArgument);
  const std::optional<google::rpc::BadRequest> bad_request = GetBadRequest(thresholds.status());
  ASSERT_TRUE(bad_request.has_value());
  ASSERT_EQ(bad_request->field_violations_size(), 1);
  EXPECT_EQ(bad_request->field_violations(0).field(), "thresholds[1]");
  EXPECT_EQ(GetErrorInfo(thresholds.status())->reason(), reason::kInvalidArgument);
}

TEST(ThresholdsTest, MoreThanTheMostIsRejected) {
  std::vector<std::string> many(kMaxThresholds + 1, "1");
  const absl::StatusOr<Thresholds> thresholds = Thresholds::FromRequest(Decimals(many));
  ASSERT_EQ(thresholds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetBadRequest(thresholds.status())->field_violations(0).field(), "thresholds");
  EXPECT_TRUE(Thresholds::FromRequest(Decimals(std::vector<std::string>(kMaxThresholds, "1"))).ok());
}

TEST(ThresholdsTest, ReachedIsExact) {
  const Thresholds thresholds = Make({});
  EXPECT_EQ(thresholds.Reached(Record(kA, "79.99999999999999999999")), 0);
  EXPECT_EQ(thresholds.Reached(Record(kA, "80")), 1);
  EXPECT_EQ(thresholds.Reached(Record(kA, "80.00000000000000000000")), 1);
  EXPECT_EQ(thresholds.Reached(Record(kA, "8E+1")), 1);
  EXPECT_EQ(thresholds.Reached(Record(kA, "99.99999999999999999999999999")), 1);
  EXPECT_EQ(thresholds.Reached(Record(kA, "100")), 2);
  EXPECT_EQ(thresholds.Reached(Record(kA, "602.84")), 2);
  EXPECT_EQ(thresholds.Reached(Record(kA, "-0")), 0);
  EXPECT_EQ(thresholds.Reached(Record(kA, std::nullopt)), 0);
  EXPECT_EQ(thresholds.Reached(Record(kA, "not a number")), 0);
}

TEST(LevelTest, EveryCustomerAtEveryThresholdItReachesInListedOrder) {
  const Records now =
      Poll({Record(kB, "150"), Record(kA, "80"), Record("c", "79.99999999999999999999"), Record("d", std::nullopt)});
  EXPECT_THAT(Show(Level(Make({}), now)), ElementsAre("KIND_LEVEL 80 " + std::string(kB) + " - now 150",
                                                      "KIND_LEVEL 100 " + std::string(kB) + " - now 150",
                                                      "KIND_LEVEL 80 " + std::string(kA) + " - now 80"));
  EXPECT_THAT(Level(Make({}), Poll({})), IsEmpty());
}

TEST(EdgesTest, UpwardAtTheExactBoundary) {
  const Records before = Poll({Record(kA, "79.99999999999999999999")});
  const Records now = Poll({Record(kA, "80")});
  EXPECT_THAT(Show(Edges(Make({}), before, now)),
              ElementsAre("KIND_CROSSED_UP 80 " + std::string(kA) + " 79.99999999999999999999 now 80"));
}

TEST(EdgesTest, DownwardAtTheExactBoundary) {
  const Records before = Poll({Record(kA, "80")});
  const Records now = Poll({Record(kA, "79.99999999999999999999")});
  EXPECT_THAT(Show(Edges(Make({}), before, now)),
              ElementsAre("KIND_CROSSED_DOWN 80 " + std::string(kA) + " 80 now 79.99999999999999999999"));
}

TEST(EdgesTest, SeveralThresholdsAtOnceUpAscendingAndDownDescending) {
  const Thresholds thresholds = Make({"50", "80", "100"});
  EXPECT_THAT(Show(Edges(thresholds, Poll({Record(kA, "10")}), Poll({Record(kA, "120")}))),
              ElementsAre("KIND_CROSSED_UP 50 " + std::string(kA) + " 10 now 120",
                          "KIND_CROSSED_UP 80 " + std::string(kA) + " 10 now 120",
                          "KIND_CROSSED_UP 100 " + std::string(kA) + " 10 now 120"));
  EXPECT_THAT(Show(Edges(thresholds, Poll({Record(kA, "120")}), Poll({Record(kA, "60")}))),
              ElementsAre("KIND_CROSSED_DOWN 100 " + std::string(kA) + " 120 now 60",
                          "KIND_CROSSED_DOWN 80 " + std::string(kA) + " 120 now 60"));
}

TEST(EdgesTest, NoEventWhileTheSameThresholdsAreReached) {
  const Thresholds thresholds = Make({});
  EXPECT_THAT(Edges(thresholds, Poll({Record(kA, "81")}), Poll({Record(kA, "99.9")})), IsEmpty());
  EXPECT_THAT(Edges(thresholds, Poll({Record(kA, "10")}), Poll({Record(kA, "20")})), IsEmpty());
  EXPECT_THAT(Edges(thresholds, Poll({Record(kA, "80")}), Poll({Record(kA, "80.000")})), IsEmpty());
  EXPECT_THAT(Edges(thresholds, Poll({Record(kA, std::nullopt)}), Poll({Record(kA, "1")})), IsEmpty());
}

TEST(EdgesTest, ACustomerAppearingAboveAThresholdCrossesUpWithoutAPreviousValue) {
  EXPECT_THAT(Show(Edges(Make({}), Poll({}), Poll({Record(kA, "85")}))),
              ElementsAre("KIND_CROSSED_UP 80 " + std::string(kA) + " - now 85"));
  EXPECT_THAT(Edges(Make({}), Poll({}), Poll({Record(kA, "5")})), IsEmpty());
}

TEST(EdgesTest, ACustomerGoneWhileAboveAThresholdIsGoneWithItsLastRecord) {
  EXPECT_THAT(Show(Edges(Make({}), Poll({Record(kA, "101"), Record(kB, "5")}), Poll({}))),
              ElementsAre("KIND_GONE 100 " + std::string(kA) + " 101 now 101",
                          "KIND_GONE 80 " + std::string(kA) + " 101 now 101"));
}

TEST(EdgesTest, LosingPercentUsedIsCrossingDown) {
  EXPECT_THAT(Show(Edges(Make({}), Poll({Record(kA, "90")}), Poll({Record(kA, std::nullopt)}))),
              ElementsAre("KIND_CROSSED_DOWN 80 " + std::string(kA) + " 90 now -"));
}

TEST(EdgesTest, CustomersAreMatchedByResourceIdInAnyCase) {
  std::string upper(kA);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_THAT(Edges(Make({}), Poll({Record(kA, "90")}), Poll({Record(upper, "95")})), IsEmpty());
}

TEST(EdgesTest, ADuplicatedResourceIdCountsItsFirstRecord) {
  const Thresholds thresholds = Make({});
  PollBuilder builder(thresholds, nullptr);
  builder.Add(Record(kA, "90"));
  builder.Add(Record(kA, "10"));
  const PollState now = builder.Finish();
  ASSERT_EQ(now.size(), 1);
  EXPECT_EQ(now.Find(kA)->percent_used->value(), "90");
  EXPECT_EQ(now.Find(kA)->reached, 1);
  EXPECT_THAT(Show(builder.events()), ElementsAre("KIND_LEVEL 80 " + std::string(kA) + " - now 90"));
}

TEST(EdgesTest, ManyCustomersAtOnceListedOrderThenGoneInOldOrder) {
  const Records before = Poll({Record("g1", "100"), Record(kA, "79"), Record("g2", "80"), Record(kB, "100")});
  const Records now = Poll({Record(kB, "99"), Record(kA, "80"), Record("new", "100")});
  EXPECT_THAT(Show(Edges(Make({}), before, now)),
              ElementsAre("KIND_CROSSED_DOWN 100 " + std::string(kB) + " 100 now 99",
                          "KIND_CROSSED_UP 80 " + std::string(kA) + " 79 now 80", "KIND_CROSSED_UP 80 new - now 100",
                          "KIND_CROSSED_UP 100 new - now 100", "KIND_GONE 100 g1 100 now 100",
                          "KIND_GONE 80 g1 100 now 100", "KIND_GONE 80 g2 80 now 80"));
}

TEST(PollStateTest, KeepsWholeRecordsOnlyOfCustomersAtOrAboveAThreshold) {
  const Thresholds thresholds = Make({});
  PollBuilder builder(thresholds, nullptr);
  builder.Add(Record(kA, "80"));
  builder.Add(Record(kB, "79.99999999999999999999"));
  builder.Add(Record("c", std::nullopt));
  const PollState state = builder.Finish();
  ASSERT_EQ(state.size(), 3);
  EXPECT_TRUE(state.Find(kA)->record.has_value());
  EXPECT_FALSE(state.Find(kB)->record.has_value());
  EXPECT_EQ(state.Find(kB)->percent_used->value(), "79.99999999999999999999");
  EXPECT_FALSE(state.Find("c")->percent_used.has_value());
  EXPECT_EQ(state.Find("nobody"), nullptr);
  // What the next poll needs of kB (its previous value) is still there.
  PollBuilder next(thresholds, &state);
  next.Add(Record(kB, "80"));
  next.Add(Record(kA, "80"));
  next.Add(Record("c", "1"));
  next.Finish();
  EXPECT_THAT(Show(next.events()),
              ElementsAre("KIND_CROSSED_UP 80 " + std::string(kB) + " 79.99999999999999999999 now 80"));
}

// The thresholds of kA's level events.
std::set<std::string> LevelOf(const Thresholds& thresholds, const Records& state) {
  std::set<std::string> level;
  for (const v1::BudgetEvent& event : Level(thresholds, state)) level.insert(event.threshold().value());
  return level;
}

// Applies the edges from `before` to `now` to the level of `before`: each up adds a threshold not there, each down
// or gone takes away one that is; the result must be the level of `now`.
void ExpectEdgesTakeLevelToLevel(const Thresholds& thresholds, const Records& before, const Records& now) {
  std::set<std::string> level = LevelOf(thresholds, before);
  for (const v1::BudgetEvent& event : Edges(thresholds, before, now)) {
    SCOPED_TRACE(Show(event));
    if (event.kind() == v1::BudgetEvent::KIND_CROSSED_UP) {
      EXPECT_TRUE(level.insert(event.threshold().value()).second);
    } else {
      EXPECT_EQ(level.erase(event.threshold().value()), 1);
    }
  }
  EXPECT_EQ(level, LevelOf(thresholds, now));
}

// Exhaustive over a grid of values around each threshold, with the customer listed before, now, both or neither.
TEST(EdgesTest, EdgesTakeTheLevelBeforeToTheLevelNow) {
  const Thresholds thresholds = Make({"80", "100"});
  const std::vector<std::optional<std::string>> values = {
      std::nullopt, "0", "79.99999999999999999999", "80", "80.0", "99.99999999999999999999", "100", "1E+3"};
  for (const auto& was : values) {
    for (const auto& is : values) {
      for (int listed = 0; listed < 4; ++listed) {
        SCOPED_TRACE(absl::StrCat(was.value_or("-"), " -> ", is.value_or("-"), ", listed ", listed));
        const Records before = (listed & 1) != 0 ? Poll({Record(kA, was)}) : Poll({});
        const Records now = (listed & 2) != 0 ? Poll({Record(kA, is)}) : Poll({});
        ExpectEdgesTakeLevelToLevel(thresholds, before, now);
      }
    }
  }
}

}  // namespace
}  // namespace pcusage::budget_watch
