#include "client_stubs/cpp/record_format.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::testing::HasSubstr;
using ::testing::Not;

v1::CustomerMonthlyUsageRecord FullRecord() {
  v1::CustomerMonthlyUsageRecord record;
  record.set_id("0b8a1b7c-1f5e-4a8e-9a0e-6a3a3b1c2d4e");
  record.set_resource_id("0b8a1b7c-1f5e-4a8e-9a0e-6a3a3b1c2d4e");
  record.set_resource_name("Contoso");
  record.set_currency_code("SEK");
  record.set_currency_symbol("kr");
  record.mutable_total_cost()->set_value("120.5682999999995904716");
  record.mutable_usd_total_cost()->set_value("11.12000000000000000001");
  record.mutable_percent_used()->set_value("602.84");
  record.mutable_budget()->mutable_amount()->set_value("20");
  record.mutable_budget()->set_object_type("SpendingBudget");
  record.set_is_upgraded(true);
  record.mutable_last_modified_time()->set_seconds(1559160298);  // 2019-05-29T20:04:58Z
  record.mutable_last_modified_time()->set_nanos(59183600);
  record.set_object_type("CustomerMonthlyUsageRecord");
  return record;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  EXPECT_EQ(lines.back(), "") << "output must end with a newline";
  lines.pop_back();
  return lines;
}

// The cells of a table line: the text between runs of two or more spaces.
std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  for (absl::string_view part : absl::StrSplit(line, "  ", absl::SkipWhitespace())) {
    cells.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return cells;
}

// Terminal column at which `part` starts in `line` (its first occurrence).
int ColumnOf(const std::string& line, absl::string_view part) {
  const std::size_t at = absl::string_view(line).find(part);
  EXPECT_NE(at, std::string::npos) << part << " not in: " << line;
  return DisplayWidth(absl::string_view(line).substr(0, at));
}

// Terminal column just after `part` in `line`.
int EndColumnOf(const std::string& line, absl::string_view part) { return ColumnOf(line, part) + DisplayWidth(part); }

TEST(RecordToJsonLineTest, KeepsDecimalDigitsExactly) {
  const std::string line = RecordToJsonLine(FullRecord());
  EXPECT_THAT(line, HasSubstr(R"("totalCost":{"value":"120.5682999999995904716"})"));
  EXPECT_THAT(line, HasSubstr(R"("usdTotalCost":{"value":"11.12000000000000000001"})"));
  EXPECT_THAT(line, HasSubstr(R"("percentUsed":{"value":"602.84"})"));
  EXPECT_THAT(line, HasSubstr(R"("budget":{"amount":{"value":"20"},"objectType":"SpendingBudget"})"));
}

TEST(RecordToJsonLineTest, IsOneLineWithLowerCamelNames) {
  const std::string line = RecordToJsonLine(FullRecord());
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  EXPECT_THAT(line, Not(HasSubstr("\n")));
  EXPECT_THAT(line, Not(HasSubstr(" ")));
  EXPECT_THAT(line, HasSubstr(R"("resourceName":"Contoso")"));
  EXPECT_THAT(line, HasSubstr(R"("currencyCode":"SEK")"));
  EXPECT_THAT(line, HasSubstr(R"("isUpgraded":true)"));
  EXPECT_THAT(line, HasSubstr(R"("lastModifiedTime":"2019-05-29T20:04:58.059183600Z")"));
  EXPECT_THAT(line, Not(HasSubstr("resource_name")));
}

TEST(RecordToJsonLineTest, LeavesOutUnsetFieldsButKeepsZeroAndFalse) {
  v1::CustomerMonthlyUsageRecord unset;
  unset.set_resource_name("Unset");
  EXPECT_EQ(RecordToJsonLine(unset), R"({"resourceName":"Unset"})");

  v1::CustomerMonthlyUsageRecord zero;
  zero.set_resource_name("Zero");
  zero.mutable_total_cost()->set_value("0");
  zero.mutable_usd_total_cost()->set_value("0.00");
  zero.set_is_upgraded(false);
  zero.mutable_budget();
  EXPECT_EQ(RecordToJsonLine(zero),
            R"({"resourceName":"Zero","budget":{},"totalCost":{"value":"0"},"usdTotalCost":{"value":"0.00"},)"
            R"("isUpgraded":false})");
}

TEST(RecordToJsonLineTest, RoundTripsUnicode) {
  v1::CustomerMonthlyUsageRecord record = FullRecord();
  record.set_resource_name("東京商事 — Åkesson & \"Söner\"");
  const std::string line = RecordToJsonLine(record);
  EXPECT_THAT(line, Not(HasSubstr("\n")));

  v1::CustomerMonthlyUsageRecord parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok()) << line;
  EXPECT_EQ(parsed.SerializeAsString(), record.SerializeAsString());
}

TEST(RecordToJsonLineTest, ReturnsEmptyWhenProtobufCannotPrint) {
  v1::CustomerMonthlyUsageRecord record = FullRecord();
  record.mutable_last_modified_time()->set_seconds(253402300800);  // 10000-01-01T00:00:00Z
  EXPECT_EQ(RecordToJsonLine(record), "");
}

TEST(DisplayWidthTest, CountsCodePointsAndWideCharacters) {
  EXPECT_EQ(DisplayWidth(""), 0);
  EXPECT_EQ(DisplayWidth("Contoso"), 7);
  EXPECT_EQ(DisplayWidth("Åkesson"), 7);        // precomposed Å: 2 bytes, 1 column
  EXPECT_EQ(DisplayWidth("A\u030Akesson"), 7);  // A + combining ring
  EXPECT_EQ(DisplayWidth("東京商事"), 8);       // 12 bytes, 4 code points, 4 wide
  EXPECT_EQ(DisplayWidth("한국"), 4);
  EXPECT_EQ(DisplayWidth("ＡＢ"), 4);  // fullwidth Latin
  EXPECT_EQ(DisplayWidth("Ελλάδα"), 6);
  EXPECT_EQ(DisplayWidth("\xFF\xFE"
                         "a"),
            3);                            // malformed bytes count one each
  EXPECT_EQ(DisplayWidth("\xE6\x9D"), 2);  // truncated sequence
}

TEST(TableWriterTest, PrintsEveryColumn) {
  TableWriter table;
  table.AddRecord(FullRecord());
  EXPECT_EQ(table.size(), 1u);
  const std::vector<std::string> lines = Lines(table.ToString());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(Cells(lines[0]), ::testing::ElementsAre("CUSTOMER", "TENANT", "CURRENCY", "TOTAL COST", "USD", "BUDGET",
                                                      "USED %", "UPGRADED", "LAST MODIFIED"));
  EXPECT_THAT(Cells(lines[1]), ::testing::ElementsAre("Contoso", "0b8a1b7c-1f5e-4a8e-9a0e-6a3a3b1c2d4e", "SEK",
                                                      "120.5682999999995904716", "11.12000000000000000001", "20",
                                                      "602.84", "yes", "2019-05-29T20:04:58.059183600Z"));
}

TEST(TableWriterTest, DistinguishesUnsetFromZero) {
  v1::CustomerMonthlyUsageRecord unset;
  unset.set_resource_name("Unset");
  v1::CustomerMonthlyUsageRecord zero;
  zero.set_resource_name("Zero");
  zero.set_resource_id("t");
  zero.set_currency_locale("fr-FR");
  zero.mutable_total_cost()->set_value("0");
  zero.mutable_usd_total_cost()->set_value("0.00");
  zero.mutable_percent_used()->set_value("0");
  zero.mutable_budget()->set_object_type("SpendingBudget");
  zero.set_is_upgraded(false);
  zero.mutable_last_modified_time();

  TableWriter table;
  table.AddRecord(unset);
  table.AddRecord(zero);
  const std::vector<std::string> lines = Lines(table.ToString());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(Cells(lines[1]), ::testing::ElementsAre("Unset", "-", "-", "-", "-", "-", "-", "-", "-"));
  EXPECT_THAT(Cells(lines[2]),
              ::testing::ElementsAre("Zero", "t", "fr-FR", "0", "0.00", "none", "0", "no", "1970-01-01T00:00:00Z"));
}

TEST(TableWriterTest, AlignsColumnsByDisplayWidth) {
  std::vector<v1::CustomerMonthlyUsageRecord> records(4, FullRecord());
  records[0].set_resource_name("東京商事");
  records[0].set_resource_id("tenant-0");
  records[0].mutable_total_cost()->set_value("1");
  records[1].set_resource_name("Åkesson AB");
  records[1].set_resource_id("tenant-1");
  records[1].mutable_total_cost()->set_value("120.5682999999995904716");
  records[2].set_resource_name("Contoso");
  records[2].set_resource_id("tenant-2");
  records[2].mutable_total_cost()->set_value("22");
  records[3].set_resource_name("A\u030Akesson");
  records[3].set_resource_id("tenant-3");
  records[3].mutable_total_cost()->set_value("-0.5");

  TableWriter table;
  for (const auto& record : records) table.AddRecord(record);
  const std::string text = table.ToString();
  const std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 5u) << text;
  const int tenant_column = ColumnOf(lines[0], "TENANT");
  const int total_cost_end = EndColumnOf(lines[0], "TOTAL COST");
  const int last_modified_column = ColumnOf(lines[0], "LAST MODIFIED");
  EXPECT_EQ(tenant_column, DisplayWidth("Åkesson AB") + 2) << text;
  for (int i = 0; i < 4; ++i) {
    const std::string& line = lines[i + 1];
    EXPECT_EQ(ColumnOf(line, records[i].resource_id()), tenant_column) << text;
    EXPECT_EQ(EndColumnOf(line, absl::StrCat(" ", records[i].total_cost().value(), " ")), total_cost_end + 1) << text;
    EXPECT_EQ(ColumnOf(line, "2019-"), last_modified_column) << text;
  }
  EXPECT_THAT(lines[1], ::testing::StartsWith("東京商事    tenant-0"));
}

TEST(TableWriterTest, WritesNoTrailingSpaces) {
  v1::CustomerMonthlyUsageRecord record;
  record.set_resource_name("A long customer name that is wider than the others");
  TableWriter table;
  table.AddRecord(record);
  table.AddRecord(FullRecord());
  for (const std::string& line : Lines(table.ToString())) {
    EXPECT_NE(line.back(), ' ') << "[" << line << "]";
  }
}

TEST(TableWriterTest, ReplacesControlCharactersAndMalformedUtf8) {
  v1::CustomerMonthlyUsageRecord record;
  // The bidirectional override is the point: the table must escape it.
  record.set_resource_name("Evil\x1B[2J\nCorp\t\u202E\xFF");  // NOLINT(misc-misleading-bidirectional)
  record.set_resource_id("tenant");
  TableWriter table;
  table.AddRecord(record);
  const std::vector<std::string> lines = Lines(table.ToString());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], ::testing::StartsWith("Evil\uFFFD[2J\uFFFDCorp\uFFFD\uFFFD\uFFFD  tenant"));
  EXPECT_EQ(ColumnOf(lines[1], "tenant"), ColumnOf(lines[0], "TENANT"));
}

TEST(TableWriterTest, PrintsOnlyTheHeaderWhenEmpty) {
  TableWriter table;
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.ToString(), "CUSTOMER  TENANT  CURRENCY  TOTAL COST  USD  BUDGET  USED %  UPGRADED  LAST MODIFIED\n");
}

TEST(TableWriterTest, MarksTimestampsProtobufCannotPrint) {
  v1::CustomerMonthlyUsageRecord record = FullRecord();
  record.mutable_last_modified_time()->set_nanos(-1);
  TableWriter table;
  table.AddRecord(record);
  EXPECT_THAT(table.ToString(), HasSubstr("  invalid\n"));
}

}  // namespace
}  // namespace pcusage::client
