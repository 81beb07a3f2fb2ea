#include "client_stubs/cpp/budget_event_format.h"

#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "partnercenter/usage/v1/usage_records.pb.h"

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;

const absl::Time kReceived = absl::FromUnixSeconds(1796610061);  // 2026-12-07T02:21:01Z

v1::WatchBudgetsResponse Event(v1::BudgetEvent::Kind kind, const std::string& threshold) {
  v1::WatchBudgetsResponse response;
  v1::BudgetEvent& event = *response.mutable_budget_event();
  event.set_kind(kind);
  event.mutable_threshold()->set_value(threshold);
  event.mutable_record()->set_resource_id("00000000-c0de-4000-8000-000000000000");
  event.mutable_record()->set_name("Contoso");
  event.mutable_record()->mutable_percent_used()->set_value("120.5682999999995904716");
  response.mutable_snapshot_time()->set_seconds(1796610000);
  return response;
}

std::string Line(const v1::WatchBudgetsResponse& response) {
  std::string out = "kept|";
  AppendWatchEventLine(response, kReceived, &out);
  return out;
}

TEST(WatchEventLineTest, LevelHasNoPreviousValue) {
  EXPECT_EQ(Line(Event(v1::BudgetEvent::KIND_LEVEL, "80")),
            "kept|2026-12-07T02:21:01Z  LEVEL          80%  00000000-c0de-4000-8000-000000000000  "
            "used 120.5682999999995904716%  snapshot 2026-12-07T02:20:00Z  Contoso\n");
}

TEST(WatchEventLineTest, CrossingsShowThePreviousValueOrADash) {
  v1::WatchBudgetsResponse up = Event(v1::BudgetEvent::KIND_CROSSED_UP, "100");
  up.mutable_budget_event()->mutable_previous_percent_used()->set_value("79.99999999999999999999");
  EXPECT_EQ(Line(up),
            "kept|2026-12-07T02:21:01Z  CROSSED_UP    100%  00000000-c0de-4000-8000-000000000000  "
            "used 120.5682999999995904716% (was 79.99999999999999999999%)  snapshot 2026-12-07T02:20:00Z  Contoso\n");

  v1::WatchBudgetsResponse down = Event(v1::BudgetEvent::KIND_CROSSED_DOWN, "1E+2");
  down.mutable_budget_event()->mutable_record()->clear_percent_used();
  down.mutable_budget_event()->mutable_record()->clear_name();
  EXPECT_EQ(Line(down),
            "kept|2026-12-07T02:21:01Z  CROSSED_DOWN  1E+2%  00000000-c0de-4000-8000-000000000000  "
            "used - (was -)  snapshot 2026-12-07T02:20:00Z  -\n");
}

TEST(WatchEventLineTest, GoneAndAKindThisClientDoesNotKnow) {
  EXPECT_NE(Line(Event(v1::BudgetEvent::KIND_GONE, "80")).find("  GONE           80%  "), std::string::npos);
  EXPECT_NE(Line(Event(static_cast<v1::BudgetEvent::Kind>(9), "80")).find("  KIND_9         80%  "), std::string::npos);
}

TEST(WatchEventLineTest, ServerTextCannotBreakTheLine) {
  v1::WatchBudgetsResponse response = Event(v1::BudgetEvent::KIND_LEVEL, "80\n");
  // A line break, an escape sequence, and a right-to-left override (terminated, as clang-tidy's
  // misc-misleading-bidirectional wants).
  response.mutable_budget_event()->mutable_record()->set_name("Evil\nCorp\x1b[2J\u202eXYZ\u202c");
  response.mutable_snapshot_time()->set_seconds(-62135596801);  // before year 1
  const std::string line = Line(response);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_NE(line.find("80\uFFFD%"), std::string::npos);
  EXPECT_NE(line.find("snapshot invalid  Evil\uFFFDCorp\uFFFD[2J\uFFFDXYZ\uFFFD\n"), std::string::npos) << line;
}

TEST(WatchEventLineTest, EndOfTheLevel) {
  v1::WatchBudgetsResponse response;
  response.mutable_initial_state_complete()->set_matching_customers(6);
  EXPECT_EQ(Line(response), "kept|2026-12-07T02:21:01Z  COMPLETE      initial state complete, 6 matching customers\n");
}

TEST(WatchEventLineTest, FailedPoll) {
  v1::WatchBudgetsResponse response;
  v1::PollFailed& failed = *response.mutable_poll_failed();
  failed.set_code(14);
  failed.set_reason("PARTNER_CENTER_UNAVAILABLE");
  failed.set_message("Partner Center answered HTTP 503");
  failed.set_failures_in_a_row(2);
  failed.mutable_retry_in()->set_seconds(30);
  EXPECT_EQ(Line(response),
            "kept|2026-12-07T02:21:01Z  POLL_FAILED   UNAVAILABLE PARTNER_CENTER_UNAVAILABLE: "
            "Partner Center answered HTTP 503 (2 in a row; next poll in 30s)\n");

  failed.set_code(99);
  failed.clear_reason();
  failed.clear_retry_in();
  EXPECT_EQ(Line(response),
            "kept|2026-12-07T02:21:01Z  POLL_FAILED   CODE_99: "
            "Partner Center answered HTTP 503 (2 in a row; next poll in -)\n");
}

TEST(WatchEventLineTest, AnEventThisClientDoesNotKnow) {
  EXPECT_EQ(Line(v1::WatchBudgetsResponse()), "kept|2026-12-07T02:21:01Z  UNKNOWN\n");
}

TEST(WatchResponseJsonLineTest, ProtobufJsonOnOneLine) {
  v1::WatchBudgetsResponse response = Event(v1::BudgetEvent::KIND_CROSSED_UP, "80");
  response.mutable_budget_event()->mutable_record()->clear_name();
  std::string out = "kept|";
  ASSERT_TRUE(AppendWatchResponseJsonLine(response, &out));
  EXPECT_EQ(out,
            "kept|{\"budgetEvent\":{\"kind\":\"KIND_CROSSED_UP\",\"threshold\":{\"value\":\"80\"},\"record\":{"
            "\"resourceId\":\"00000000-c0de-4000-8000-000000000000\",\"percentUsed\":{\"value\":"
            "\"120.5682999999995904716\"}}},\"snapshotTime\":\"2026-12-07T02:20:00Z\"}\n");

  v1::WatchBudgetsResponse complete;
  complete.mutable_initial_state_complete()->set_matching_customers(6);
  out.clear();
  ASSERT_TRUE(AppendWatchResponseJsonLine(complete, &out));
  EXPECT_EQ(out, "{\"initialStateComplete\":{\"matchingCustomers\":\"6\"}}\n");
}

TEST(WatchResponseJsonLineTest, AnUnprintableTimestampLeavesTheOutputAlone) {
  v1::WatchBudgetsResponse response;
  response.mutable_snapshot_time()->set_seconds(-62135596801);
  std::string out = "kept";
  EXPECT_FALSE(AppendWatchResponseJsonLine(response, &out));
  EXPECT_EQ(out, "kept");
}

}  // namespace
}  // namespace pcusage::client
