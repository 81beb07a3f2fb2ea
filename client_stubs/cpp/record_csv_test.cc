#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client_stubs/cpp/record_format.h"
#include "gtest/gtest.h"

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;

v1::CustomerMonthlyUsageRecord FullRecord() {
  v1::CustomerMonthlyUsageRecord record;
  record.set_id("0b8a1b7c-1f5e-4a8e-9a0e-6a3a3b1c2d4e");
  record.set_name("Contoso");
  record.set_resource_id("0b8a1b7c-1f5e-4a8e-9a0e-6a3a3b1c2d4e");
  record.set_resource_name("Contoso AB");
  record.mutable_budget()->mutable_amount()->set_value("20");
  record.mutable_customer_spending_budget()->mutable_amount()->set_value("0");
  record.mutable_usage_spending_budget()->mutable_amount()->set_value("1E+3");
  record.mutable_percent_used()->set_value("602.84");
  record.mutable_total_cost()->set_value("120.5682999999995904716");
  record.mutable_usd_total_cost()->set_value("-0.00000000000000000001");
  record.set_currency_locale("sv-SE");
  record.set_currency_code("SEK");
  record.set_currency_symbol("kr");
  record.set_is_upgraded(true);
  record.mutable_last_modified_time()->set_seconds(1559160298);  // 2019-05-29T20:04:58Z
  record.mutable_last_modified_time()->set_nanos(59183600);
  return record;
}

std::string Row(const v1::CustomerMonthlyUsageRecord& record) {
  std::string row;
  EXPECT_TRUE(AppendRecordCsvRow(record, &row));
  return row;
}

// A CSV text split into rows (at CRLF, which these tests' fields do not contain) and fields (at commas).
std::vector<std::vector<std::string>> Split(const std::string& csv) {
  std::vector<std::string> lines = absl::StrSplit(csv, "\r\n");
  EXPECT_EQ(lines.back(), "") << "every row ends in CRLF";
  lines.pop_back();
  std::vector<std::vector<std::string>> rows;
  rows.reserve(lines.size());
  for (const std::string& line : lines) rows.push_back(absl::StrSplit(line, ','));
  return rows;
}

TEST(CsvTest, HeaderNamesTheProtoFieldsInOrderAndEndsInCrlf) {
  EXPECT_EQ(CsvHeader(),
            "id,name,resource_id,resource_name,budget_amount,customer_spending_budget_amount,"
            "usage_spending_budget_amount,percent_used,total_cost,usd_total_cost,currency_locale,currency_code,"
            "currency_symbol,is_upgraded,last_modified_time\r\n");
}

TEST(CsvTest, ARowHasAFieldPerHeaderColumnWithDecimalsExactlyAsSent) {
  const std::string row = Row(FullRecord());
  EXPECT_EQ(row,
            "0b8a1b7c-1f5e-4a8e-9a0e-6a3a3b1c2d4e,Contoso,0b8a1b7c-1f5e-4a8e-9a0e-6a3a3b1c2d4e,Contoso AB,20,0,1E+3,"
            "602.84,120.5682999999995904716,-0.00000000000000000001,sv-SE,SEK,kr,true,2019-05-29T20:04:58.059183600Z"
            "\r\n");
  const auto rows = Split(CsvHeader() + row);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].size(), rows[1].size());
}

TEST(CsvTest, AbsentValuesAreEmptyFields) {
  v1::CustomerMonthlyUsageRecord record;
  EXPECT_EQ(Row(record), ",,,,,,,,,,,,,,\r\n");
  record.mutable_budget();  // a budget without an amount
  record.set_is_upgraded(false);
  record.mutable_total_cost()->set_value("0");
  const auto rows = Split(Row(record));
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].size(), 15u);
  EXPECT_EQ(rows[0][4], "") << "budget_amount";
  EXPECT_EQ(rows[0][7], "") << "percent_used";
  EXPECT_EQ(rows[0][8], "0") << "a zero cost is not an absent one";
  EXPECT_EQ(rows[0][13], "false");
  EXPECT_EQ(rows[0][14], "") << "last_modified_time";
}

TEST(CsvTest, FieldsWithCommasQuotesAndLineBreaksAreQuoted) {
  const std::pair<std::string, std::string> cases[] = {
      {"Contoso, Inc.", "\"Contoso, Inc.\""},
      {R"(The "Best" Co)", R"("The ""Best"" Co")"},
      {"two\r\nlines", "\"two\r\nlines\""},
      {"line\nfeed", "\"line\nfeed\""},
      {"carriage\rreturn", "\"carriage\rreturn\""},
      {R"(")", R"("""")"},
      {"plain text; with 'quotes' and spaces ", "plain text; with 'quotes' and spaces "},
      {"Åland Öy 株式会社", "Åland Öy 株式会社"},
  };
  for (const auto& [name, field] : cases) {
    v1::CustomerMonthlyUsageRecord record;
    record.set_resource_name(name);
    EXPECT_EQ(Row(record), ",,," + field + ",,,,,,,,,,,\r\n") << name;
  }
}

TEST(CsvTest, TimestampsAreRfc3339InUtc) {
  v1::CustomerMonthlyUsageRecord record;
  record.mutable_last_modified_time()->set_seconds(1559160298);
  EXPECT_EQ(Row(record), ",,,,,,,,,,,,,,2019-05-29T20:04:58Z\r\n");
  record.mutable_last_modified_time()->set_nanos(500000000);
  EXPECT_EQ(Row(record), ",,,,,,,,,,,,,,2019-05-29T20:04:58.500Z\r\n");
}

TEST(CsvTest, ARecordThatCannotBePrintedLeavesTheOutputUnchanged) {
  v1::CustomerMonthlyUsageRecord record = FullRecord();
  record.mutable_last_modified_time()->set_seconds(253402300800);  // year 10000
  std::string out = "before";
  EXPECT_FALSE(AppendRecordCsvRow(record, &out));
  EXPECT_EQ(out, "before");
  record.mutable_last_modified_time()->set_seconds(0);
  record.mutable_last_modified_time()->set_nanos(-1);
  EXPECT_FALSE(AppendRecordCsvRow(record, &out));
  EXPECT_EQ(out, "before");
}

}  // namespace
}  // namespace pcusage::client
