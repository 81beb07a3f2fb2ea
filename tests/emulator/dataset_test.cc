#include "tests/emulator/dataset.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace pcusage::emulator {
namespace {

using ::nlohmann::json;
using ::testing::Contains;
using ::testing::IsSupersetOf;

// Expects `item[key]` to be `expected` (JSON text), or, when unset, to be null
// or missing as the record says.
void ExpectJsonField(const json& item, const std::string& key, const std::optional<json>& expected, bool sends_nulls) {
  SCOPED_TRACE(key);
  if (expected.has_value()) {
    ASSERT_TRUE(item.contains(key));
    EXPECT_EQ(item[key].type(), expected->type());
    EXPECT_EQ(item[key], *expected);
  } else if (sends_nulls) {
    ASSERT_TRUE(item.contains(key));
    EXPECT_TRUE(item[key].is_null());
  } else {
    EXPECT_FALSE(item.contains(key));
  }
}

std::optional<json> Number(const std::optional<std::string>& text) {
  if (!text.has_value()) return std::nullopt;
  return json::parse(*text);
}

std::optional<json> String(const std::optional<std::string>& text) {
  if (!text.has_value()) return std::nullopt;
  return json(*text);
}

void ExpectBudget(const json& item, const std::string& key, const ExpectedBudget& expected, bool sends_nulls) {
  SCOPED_TRACE(key);
  if (!expected.present) {
    ExpectJsonField(item, key, std::nullopt, sends_nulls);
    return;
  }
  ASSERT_TRUE(item.contains(key));
  const json& budget = item[key];
  ExpectJsonField(budget, "amount", Number(expected.amount), sends_nulls);
  EXPECT_EQ(budget["attributes"]["objectType"], "SpendingBudget");
}

void ExpectItemMatches(const json& item, const GeneratedRecord& record) {
  SCOPED_TRACE(record.id);
  const bool nulls = record.sends_nulls;
  EXPECT_EQ(item["id"], record.id);
  EXPECT_EQ(item["name"], record.name);
  EXPECT_EQ(item["resourceId"], record.resource_id);
  EXPECT_EQ(item["resourceName"], record.resource_name);
  ExpectBudget(item, "budget", record.budget, nulls);
  ExpectBudget(item, "customerSpendingBudget", record.customer_spending_budget, nulls);
  ExpectBudget(item, "usageSpendingBudget", record.usage_spending_budget, nulls);
  ExpectJsonField(item, "percentUsed", Number(record.percent_used), nulls);
  ExpectJsonField(item, "totalCost", Number(record.total_cost), nulls);
  ExpectJsonField(item, "usdTotalCost", Number(record.usd_total_cost), nulls);
  ExpectJsonField(item, "currencyLocale", String(record.currency_locale), nulls);
  ExpectJsonField(item, "currencyCode", String(record.currency_code), nulls);
  ExpectJsonField(item, "currencySymbol", String(record.currency_symbol), nulls);
  ExpectJsonField(item, "isUpgraded", record.is_upgraded ? std::optional(json(*record.is_upgraded)) : std::nullopt,
                  nulls);
  ExpectJsonField(item, "lastModifiedDate", String(record.last_modified_date), nulls);
  EXPECT_EQ(item["attributes"]["objectType"], record.object_type);
}

int SignificantDigits(absl::string_view decimal) {
  int digits = 0;
  bool leading = true;
  for (char c : decimal) {
    if (c == 'e' || c == 'E') break;
    if (c < '0' || c > '9') continue;
    if (c != '0') leading = false;
    if (!leading) ++digits;
  }
  return digits;
}

TEST(GeneratedDatasetTest, EmptyDataSetIsOnePageWithNoItems) {
  GeneratedDataset dataset(0, 10);
  EXPECT_EQ(dataset.page_count(), 1);
  EXPECT_TRUE(dataset.records().empty());

  const json page = json::parse(dataset.RenderPage(0));
  ASSERT_TRUE(page["items"].is_array());
  EXPECT_TRUE(page["items"].empty());
  EXPECT_EQ(page["totalCount"], 7);
  EXPECT_TRUE(page["links"].contains("self"));
  EXPECT_FALSE(page["links"].contains("next"));
}

TEST(GeneratedDatasetTest, PagesSplitTheRecordsInOrder) {
  GeneratedDataset dataset(23, 5);
  ASSERT_EQ(dataset.page_count(), 5);
  ASSERT_EQ(dataset.records().size(), 23u);

  size_t next_record = 0;
  for (int p = 0; p < dataset.page_count(); ++p) {
    SCOPED_TRACE(p);
    const json page = json::parse(dataset.RenderPage(p));
    EXPECT_EQ(page["totalCount"], 30);
    EXPECT_EQ(page["items"].size(), p < 4 ? 5u : 3u);
    for (const json& item : page["items"]) {
      ASSERT_LT(next_record, dataset.records().size());
      ExpectItemMatches(item, dataset.records()[next_record++]);
    }
    EXPECT_EQ(page["links"]["self"]["uri"], "/customers/usagerecords");
    if (p + 1 < dataset.page_count()) {
      const json& next = page["links"]["next"];
      EXPECT_EQ(next["uri"], "/v1/customers/usagerecords?seekOperation=Next");
      EXPECT_EQ(next["method"], "GET");
      ASSERT_EQ(next["headers"].size(), 1u);
      EXPECT_EQ(next["headers"][0]["key"], "MS-ContinuationToken");
      EXPECT_EQ(next["headers"][0]["value"], GeneratedDataset::ContinuationToken(p + 1));
    } else {
      EXPECT_FALSE(page["links"].contains("next"));
    }
  }
  EXPECT_EQ(next_record, dataset.records().size());
}

TEST(GeneratedDatasetTest, EveryRecordRendersItsExpectedValues) {
  GeneratedDataset dataset(250, 40);
  size_t next_record = 0;
  for (int p = 0; p < dataset.page_count(); ++p) {
    const json page = json::parse(dataset.RenderPage(p));
    for (const json& item : page["items"]) {
      ExpectItemMatches(item, dataset.records()[next_record++]);
    }
  }
  EXPECT_EQ(next_record, 250u);
}

TEST(GeneratedDatasetTest, IdsAreUnique) {
  GeneratedDataset dataset(1000, 40);
  std::set<std::string> ids;
  for (const GeneratedRecord& record : dataset.records()) ids.insert(record.id);
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(GeneratedDatasetTest, RenderingIsDeterministic) {
  EXPECT_EQ(GeneratedDataset(30, 7).RenderPage(2), GeneratedDataset(30, 7).RenderPage(2));
}

TEST(GeneratedDatasetTest, TokensRoundTripAndForeignTokensAreRejected) {
  GeneratedDataset dataset(10, 3);
  for (int p = 0; p < dataset.page_count(); ++p) {
    EXPECT_EQ(dataset.PageForToken(GeneratedDataset::ContinuationToken(p)), p);
  }
  EXPECT_EQ(dataset.PageForToken(GeneratedDataset::ContinuationToken(4)), std::nullopt);
  EXPECT_EQ(dataset.PageForToken(GeneratedDataset::ContinuationToken(-1)), std::nullopt);
  EXPECT_EQ(dataset.PageForToken(""), std::nullopt);
  EXPECT_EQ(dataset.PageForToken("not-a-token"), std::nullopt);
  EXPECT_EQ(dataset.PageForToken(GeneratedDataset::ContinuationToken(1) + "x"), std::nullopt);
}

TEST(GeneratedDatasetTest, TimestampsNameTheirInstants) {
  GeneratedDataset dataset(40, 40);
  for (const GeneratedRecord& record : dataset.records()) {
    if (!record.last_modified_date.has_value()) continue;
    SCOPED_TRACE(*record.last_modified_date);
    absl::Time time;
    std::string error;
    ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, *record.last_modified_date, &time, &error)) << error;
    const int64_t seconds = absl::ToUnixSeconds(time);
    EXPECT_EQ(seconds, record.last_modified_unix_seconds);
    EXPECT_EQ((time - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1), record.last_modified_nanos);
  }
}

TEST(GeneratedDatasetTest, FirstTwelveRecordsCoverTheEdgeCases) {
  GeneratedDataset dataset(12, 5);
  std::set<std::string> budget_cases;
  std::set<std::string> decimals;
  std::set<std::string> traits;
  for (const GeneratedRecord& record : dataset.records()) {
    const std::string spelling = record.sends_nulls ? "null" : "omitted";
    for (const ExpectedBudget* budget :
         {&record.budget, &record.customer_spending_budget, &record.usage_spending_budget}) {
      if (!budget->present) {
        budget_cases.insert("budget " + spelling);
      } else if (!budget->amount.has_value()) {
        budget_cases.insert("amount " + spelling);
      } else {
        budget_cases.insert("amount set");
      }
    }
    for (const auto* decimal : {&record.percent_used, &record.total_cost, &record.usd_total_cost}) {
      if (decimal->has_value()) decimals.insert(**decimal);
      if (decimal->has_value() && SignificantDigits(**decimal) >= 28) {
        traits.insert("28+ digits");
      }
    }
    const std::string& name = record.resource_name;
    for (unsigned char c : name) {
      if (c >= 0x80) traits.insert("non-ASCII name");
      if (c >= 0xF0) traits.insert("emoji name");
      if (c < 0x20) traits.insert("control character in name");
    }
    if (absl::StrContains(name, "\"")) traits.insert("quote in name");
    if (absl::StrContains(name, "\\")) traits.insert("backslash in name");
    if (!record.is_upgraded) traits.insert("is_upgraded " + spelling);
    if (!record.currency_symbol) traits.insert("currency_symbol " + spelling);
    if (!record.last_modified_date) {
      traits.insert("last_modified_date missing");
    } else {
      const std::string& date = *record.last_modified_date;
      const size_t dot = date.find('.');
      const size_t zone = date.find_first_of("Z+-", date.find('T'));
      traits.insert(absl::StrCat("fraction digits ", dot == std::string::npos ? 0 : zone - dot - 1));
      traits.insert("offset " + date.substr(zone));
    }
    traits.insert(record.ascii_escaped ? "ascii escaped" : "raw UTF-8");
  }

  EXPECT_THAT(budget_cases,
              IsSupersetOf({"budget omitted", "budget null", "amount omitted", "amount null", "amount set"}));
  EXPECT_THAT(decimals, IsSupersetOf({"0", "-0.0", "1.5e+2", "2.5e-3", "-3.75", "42"}));
  EXPECT_THAT(traits, IsSupersetOf({"28+ digits",
                                    "non-ASCII name",
                                    "emoji name",
                                    "control character in name",
                                    "quote in name",
                                    "backslash in name",
                                    "is_upgraded omitted",
                                    "is_upgraded null",
                                    "currency_symbol null",
                                    "last_modified_date missing",
                                    "fraction digits 0",
                                    "fraction digits 1",
                                    "fraction digits 2",
                                    "fraction digits 3",
                                    "fraction digits 4",
                                    "fraction digits 5",
                                    "fraction digits 6",
                                    "fraction digits 7",
                                    "offset Z",
                                    "offset +00:00",
                                    "offset -07:00",
                                    "offset +05:30",
                                    "ascii escaped",
                                    "raw UTF-8"}));
}

TEST(GeneratedDatasetTest, AsciiEscapedRecordsUseUnicodeEscapes) {
  GeneratedDataset dataset(12, 12);
  const std::string page = dataset.RenderPage(0);
  EXPECT_TRUE(absl::StrContains(page, R"(Rocket \ud83d\ude80)"));
  EXPECT_TRUE(absl::StrContains(page, "Café"));
}

TEST(GeneratedDatasetTest, UnknownFieldsAreSprinkledIn) {
  GeneratedDataset dataset(12, 12);
  const json page = json::parse(dataset.RenderPage(0));
  EXPECT_EQ(page["futureField"], json::parse(R"({"nested": [1, 2]})"));
  std::vector<std::string> keys;
  for (const json& item : page["items"]) {
    for (const auto& [key, value] : item.items()) keys.push_back(key);
  }
  EXPECT_THAT(keys, Contains("futureField"));
  EXPECT_THAT(keys, Contains("partnerExtras"));
}

}  // namespace
}  // namespace pcusage::emulator

namespace pcusage::emulator {
namespace {

// The comparisons above go through parsed JSON values, which would not notice a number rendered with other digits;
// this checks the page text itself.
TEST(GeneratedDatasetTest, DecimalsAreRenderedAsTheirExactText) {
  const GeneratedDataset dataset(250, 40);
  for (int page = 0; page < dataset.page_count(); ++page) {
    const std::string text = dataset.RenderPage(page);
    for (int i = page * 40; i < std::min(250, (page + 1) * 40); ++i) {
      const GeneratedRecord& record = dataset.records()[static_cast<std::size_t>(i)];
      for (const auto& [key, value] :
           {std::pair<const char*, const std::optional<std::string>&>{"totalCost", record.total_cost},
            {"usdTotalCost", record.usd_total_cost},
            {"percentUsed", record.percent_used}}) {
        if (!value.has_value()) continue;
        EXPECT_TRUE(absl::StrContains(text, absl::StrCat("\"", key, "\": ", *value, ",")) ||
                    absl::StrContains(text, absl::StrCat("\"", key, "\": ", *value, "}")))
            << "record " << i << " " << key << " " << *value;
      }
    }
  }
}

}  // namespace
}  // namespace pcusage::emulator
