#include "server/partner_center/record_facts.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partnercenter/usage/v1/usage_records.pb.h"
#include "server/partner_center/usage_records_parser.h"

namespace pcusage::partner_center {
namespace {

using Record = ::partnercenter::usage::v1::CustomerMonthlyUsageRecord;

// The facts of `record` as a page holds it; they point into `page`.
absl::StatusOr<RecordFacts> FactsOf(const Record& record, PageRecords& page) {
  page.Append(record);
  return ReadRecordFacts(page.Entries(0, 1));
}

TEST(RecordFactsTest, ReadsTheFieldsAFilterLooksAt) {
  Record record;
  record.set_id("ignored-id");
  record.set_resource_id("b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2");
  record.set_resource_name("Modern Azure Customer SE");
  record.mutable_budget()->mutable_amount()->set_value("20");
  record.mutable_budget()->set_object_type("SpendingBudget");
  record.mutable_customer_spending_budget()->mutable_amount()->set_value("30");
  record.mutable_percent_used()->set_value("602.84");
  record.mutable_total_cost()->set_value("120.5682999999995904716");
  record.set_currency_code("SEK");
  record.set_is_upgraded(true);
  record.mutable_last_modified_time()->set_seconds(1568740091);
  PageRecords page;
  const absl::StatusOr<RecordFacts> facts = FactsOf(record, page);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->resource_id, "b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2");
  EXPECT_EQ(facts->currency_code, "SEK");
  ASSERT_TRUE(facts->percent_used.has_value());
  EXPECT_EQ(*facts->percent_used, "602.84");
  EXPECT_TRUE(facts->budget_has_amount);
}

TEST(RecordFactsTest, AbsentFieldsStayAbsent) {
  Record record;
  record.mutable_budget()->set_object_type("SpendingBudget");                // a budget without an amount
  record.mutable_usage_spending_budget()->mutable_amount()->set_value("5");  // not `budget`
  PageRecords page;
  const absl::StatusOr<RecordFacts> facts = FactsOf(record, page);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->resource_id, "");
  EXPECT_EQ(facts->currency_code, "");
  EXPECT_FALSE(facts->percent_used.has_value());
  EXPECT_FALSE(facts->budget_has_amount);
}

TEST(RecordFactsTest, APercentUsedWithAnEmptyValueIsSet) {
  Record record;
  record.mutable_percent_used();
  record.mutable_budget()->mutable_amount();  // an amount whose value is empty is still an amount
  PageRecords page;
  const absl::StatusOr<RecordFacts> facts = FactsOf(record, page);
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_TRUE(facts->percent_used.has_value());
  EXPECT_EQ(*facts->percent_used, "");
  EXPECT_TRUE(facts->budget_has_amount);
}

TEST(RecordFactsTest, AgreesWithTheTranslatorRecordByRecord) {
  const absl::StatusOr<UsageRecordsPage> page = ParseUsageRecordsPage(R"({"totalCount": 3, "items": [
      {"resourceId": "a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1", "budget": {"amount": null}, "percentUsed": 0,
       "currencyLocale": "fr-FR", "future": {"nested": [1, 2]}},
      {"resourceId": "b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2", "budget": {"amount": 20}, "percentUsed": "+79.99999999999999999999",
       "currencyCode": "SEK", "totalCost": 1e2},
      {"resourceId": "d3d3d3d3-eeee-ffff-aaaa-b4b4b4b4b4b4", "PERCENTUSED": ".5", "currencyCode": "GBP",
       "budget": {"amount": 97}, "budget": {}}
  ], "attributes": {"objectType": "Collection"}})");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->records.size(), 3u);
  for (std::size_t i = 0; i < page->records.size(); ++i) {
    const absl::StatusOr<RecordFacts> facts = ReadRecordFacts(page->records.Entries(i, i + 1));
    ASSERT_TRUE(facts.ok()) << facts.status();
    const Record& record = page->records[i];
    EXPECT_EQ(facts->resource_id, record.resource_id()) << i;
    EXPECT_EQ(facts->currency_code, record.currency_code()) << i;
    EXPECT_EQ(facts->percent_used.has_value(), record.has_percent_used()) << i;
    if (record.has_percent_used()) {
      EXPECT_EQ(*facts->percent_used, record.percent_used().value()) << i;
    }
    EXPECT_EQ(facts->budget_has_amount, record.has_budget() && record.budget().has_amount()) << i;
  }
  EXPECT_EQ(*ReadRecordFacts(page->records.Entries(1, 2))->percent_used, "79.99999999999999999999");
  EXPECT_EQ(*ReadRecordFacts(page->records.Entries(2, 3))->percent_used, "0.5");
  EXPECT_FALSE(ReadRecordFacts(page->records.Entries(2, 3))->budget_has_amount);  // the last budget counts
}

TEST(RecordFactsTest, RefusesBytesThatAreNoEntry) {
  Record record;
  record.set_resource_id("b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2");
  PageRecords records;
  records.Append(record);
  records.Append(record);
  const std::string entry(records.Entries(0, 1));
  for (const std::string& bytes : {std::string(), entry.substr(0, entry.size() - 3), std::string(records.Entries(0, 2)),
                                   std::string("\x0a\x05\x1a\x10zz", 6), std::string("\xff\xff", 2)}) {
    EXPECT_EQ(ReadRecordFacts(bytes).status().code(), absl::StatusCode::kInternal) << testing::PrintToString(bytes);
  }
}

}  // namespace
}  // namespace pcusage::partner_center
