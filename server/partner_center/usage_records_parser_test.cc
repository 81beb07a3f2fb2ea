#include "server/partner_center/usage_records_parser.h"

#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/runfiles.h"

namespace pcusage::partner_center {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ::pcusage::testing::ReadRunfile;

UsageRecordsPage ParseOk(const std::string& json) {
  absl::StatusOr<UsageRecordsPage> page = ParseUsageRecordsPage(json);
  EXPECT_TRUE(page.ok()) << page.status();
  return page.ok() ? *std::move(page) : UsageRecordsPage{};
}

// A one-record page around `record_json`.
std::string PageWith(const std::string& record_json) {
  return R"({"totalCount": 1, "items": [)" + record_json + R"(], "attributes": {"objectType": "Collection"}})";
}

absl::Status ParseError(const std::string& json) { return ParseUsageRecordsPage(json).status(); }

TEST(UsageRecordsParserTest, SeedSampleTranslatesEveryValueExactly) {
  UsageRecordsPage page = ParseOk(ReadRunfile("tests/emulator/data/sample-usagerecords-response.json"));
  partnercenter::usage::v1::ListUsageRecordsResponse expected;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(ReadRunfile("tests/testing/seed_sample_expected.textproto"),
                                                            &expected));

  EXPECT_EQ(page.total_count, expected.partner_center_total_count());  // 25, with 4 items
  EXPECT_FALSE(page.next.has_value());
  ASSERT_EQ(page.records.size(), static_cast<std::size_t>(expected.usage_records_size()));
  for (std::size_t i = 0; i < page.records.size(); ++i) {
    std::string differences;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&differences);
    EXPECT_TRUE(differencer.Compare(expected.usage_records(static_cast<int>(i)), page.records[i]))
        << "items[" << i << "]: " << differences;
  }
  EXPECT_EQ(page.records[1].total_cost().value(), "120.5682999999995904716");
  EXPECT_EQ(page.records[1].usd_total_cost().value(), "12.39999999999999985235");
  EXPECT_FALSE(page.records[0].budget().has_amount());
  EXPECT_FALSE(page.records[1].has_customer_spending_budget());
}

TEST(UsageRecordsParserTest, BudgetPresenceIsKept) {
  UsageRecordsPage page = ParseOk(R"({"items": [
      {"resourceId": "no-budget"},
      {"resourceId": "null-budget", "budget": null},
      {"resourceId": "no-amount", "budget": {"attributes": {"objectType": "SpendingBudget"}}},
      {"resourceId": "null-amount", "budget": {"amount": null}},
      {"resourceId": "zero-amount", "budget": {"amount": 0}}]})");
  ASSERT_EQ(page.records.size(), 5u);
  EXPECT_FALSE(page.records[0].has_budget());
  EXPECT_FALSE(page.records[1].has_budget());
  EXPECT_TRUE(page.records[2].has_budget());
  EXPECT_FALSE(page.records[2].budget().has_amount());
  EXPECT_TRUE(page.records[3].has_budget());
  EXPECT_FALSE(page.records[3].budget().has_amount());
  ASSERT_TRUE(page.records[4].budget().has_amount());
  EXPECT_EQ(page.records[4].budget().amount().value(), "0");
}

TEST(UsageRecordsParserTest, MissingScalarsStayUnset) {
  UsageRecordsPage page = ParseOk(PageWith(R"({"percentUsed": null, "isUpgraded": null, "totalCost": null})"));
  ASSERT_EQ(page.records.size(), 1u);
  const auto& record = page.records[0];
  EXPECT_FALSE(record.has_percent_used());
  EXPECT_FALSE(record.has_is_upgraded());
  EXPECT_FALSE(record.has_total_cost());
  EXPECT_FALSE(record.has_usd_total_cost());
  EXPECT_FALSE(record.has_last_modified_time());
}

TEST(UsageRecordsParserTest, DecimalsKeepEveryDigitInEveryForm) {
  UsageRecordsPage page = ParseOk(R"({"items": [
      {"totalCost": 79228162514264337593543950335.1234567890123456789},
      {"totalCost": 123456789012345678901234567890},
      {"totalCost": -0.0},
      {"totalCost": 1E+2},
      {"totalCost": 2.5e-3},
      {"totalCost": "33.280000000000001044"},
      {"totalCost": -42},
      {"totalCost": 18446744073709551615},
      {"totalCost": -9223372036854775808}]})");
  ASSERT_EQ(page.records.size(), 9u);
  EXPECT_EQ(page.records[0].total_cost().value(), "79228162514264337593543950335.1234567890123456789");
  EXPECT_EQ(page.records[1].total_cost().value(), "123456789012345678901234567890");
  EXPECT_EQ(page.records[2].total_cost().value(), "-0.0");
  EXPECT_EQ(page.records[3].total_cost().value(), "1E+2");
  EXPECT_EQ(page.records[4].total_cost().value(), "2.5E-3");
  EXPECT_EQ(page.records[5].total_cost().value(), "33.280000000000001044");
  EXPECT_EQ(page.records[6].total_cost().value(), "-42");
  EXPECT_EQ(page.records[7].total_cost().value(), "18446744073709551615");
  EXPECT_EQ(page.records[8].total_cost().value(), "-9223372036854775808");
}

TEST(UsageRecordsParserTest, UnicodeNamesSurvive) {
  UsageRecordsPage page = ParseOk(PageWith(
      R"({"resourceName": "Ñandú \u6771\u4eac\u5546\u4e8b \ud83d\ude80 \"Q\" \\ Müller", "name": "Ελληνικά"})"));
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].resource_name(), "Ñandú 東京商事 🚀 \"Q\" \\ Müller");
  EXPECT_EQ(page.records[0].name(), "Ελληνικά");
}

TEST(UsageRecordsParserTest, UnknownFieldsAreIgnoredAnywhere) {
  UsageRecordsPage page = ParseOk(R"({
      "futureTopLevel": {"items": [{"not": "a record"}], "deep": [[[{"x": null}]]]},
      "totalCount": 3,
      "items": [
        {"resourceId": "r1", "newField": [1, 2, {"a": true}], "budget": {"amount": 5, "currency": "EUR"},
         "attributes": {"objectType": "CustomerMonthlyUsageRecord", "etag": "W/1"}}
      ],
      "links": {"self": {"uri": "/customers/usagerecords", "method": "GET", "headers": []}, "other": 1}
  })");
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].resource_id(), "r1");
  EXPECT_EQ(page.records[0].budget().amount().value(), "5");
  EXPECT_EQ(page.records[0].object_type(), "CustomerMonthlyUsageRecord");
  EXPECT_EQ(page.total_count, 3);
}

TEST(UsageRecordsParserTest, FieldNamesMatchCaseInsensitively) {
  UsageRecordsPage page = ParseOk(PageWith(R"({"ResourceId": "r1", "TotalCost": 1.5, "IsUpgraded": true})"));
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].resource_id(), "r1");
  EXPECT_EQ(page.records[0].total_cost().value(), "1.5");
  EXPECT_TRUE(page.records[0].is_upgraded());
}

TEST(UsageRecordsParserTest, EmptyItemsGiveNoRecords) {
  UsageRecordsPage page = ParseOk(R"({"totalCount": 0, "items": [], "links": {"self": {"uri": "/x"}}})");
  EXPECT_TRUE(page.records.empty());
  EXPECT_EQ(page.total_count, 0);
}

TEST(UsageRecordsParserTest, APageWithoutItemsIsAnErrorNotAnEmptyPage) {
  // A 200 carrying an error body, or another shape, must not end a stream OK with nothing delivered.
  for (const char* json : {R"({})", R"({"totalCount": 0})", R"({"items": null})", R"({"value": [{"id": 1}]})",
                           R"({"code": 3000, "description": "Customer does not have usage data"})"}) {
    absl::Status status = ParseError(json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(std::string(status.message()), HasSubstr("no \"items\" array")) << json;
  }
}

std::string Nested(int depth, const std::string& inner) {
  return std::string(static_cast<std::size_t>(depth), '[') + inner + std::string(static_cast<std::size_t>(depth), ']');
}

TEST(UsageRecordsParserTest, DeepOrLargeUnknownValuesAreSkippedWithoutStoringThem) {
  const std::string deep = Nested(200000, "1");
  const std::string large(4 << 20, 'x');
  UsageRecordsPage page = ParseOk(R"({"unknownDeep": )" + deep + R"(, "unknownLarge": ")" + large +
                                  R"(", "items": [{"resourceId": "r1", "futureDeep": )" + deep +
                                  R"(, "budget": {"amount": 5, "futureDeep": )" + Nested(10, "{}") + R"(}}]})");
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].resource_id(), "r1");
  EXPECT_EQ(page.records[0].budget().amount().value(), "5");
}

TEST(UsageRecordsParserTest, DeepNestingWhereRecordsAreReadIsAnError) {
  for (const std::string& json : {R"({"items": [{"budget": {"attributes": )" + Nested(100000, "{}") + R"(}}]})",
                                  R"({"items": [], "links": {"next": {"headers": )" + Nested(100000, "1") + R"(}}})"}) {
    absl::Status status = ParseError(json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr("nested more than"));
  }
}

TEST(UsageRecordsParserTest, QuotedNamesAndValuesInErrorsAreOneLine) {
  absl::Status status = ParseError(R"({"items": [{"resourceName": "Line\nBreak", "isUpgraded": "a\nb"}]})");
  EXPECT_THAT(std::string(status.message()), HasSubstr("got the string \"a b\""));
  EXPECT_EQ(std::string(status.message()).find('\n'), std::string::npos);
}

TEST(UsageRecordsParserTest, TotalCountIsReportedNotDerived) {
  UsageRecordsPage page = ParseOk(R"({"totalCount": 250, "items": [{}, {}]})");
  EXPECT_EQ(page.total_count, 250);
  EXPECT_EQ(page.records.size(), 2u);
  EXPECT_FALSE(ParseOk(R"({"items": []})").total_count.has_value());
}

TEST(UsageRecordsParserTest, NextLinkCarriesUriAndHeaders) {
  UsageRecordsPage page = ParseOk(R"({"items": [], "links": {"next": {
      "uri": "/v1/customers/usagerecords?seekOperation=Next", "method": "GET",
      "headers": [{"key": "MS-ContinuationToken", "value": "abc=="}, {"key": "X-Other", "value": ""}]}}})");
  ASSERT_TRUE(page.next.has_value());
  EXPECT_EQ(page.next->uri, "/v1/customers/usagerecords?seekOperation=Next");
  EXPECT_THAT(page.next->headers,
              ElementsAre(http::HttpHeader{"MS-ContinuationToken", "abc=="}, http::HttpHeader{"X-Other", ""}));
  EXPECT_FALSE(ParseOk(R"({"items": [], "links": {"next": null}})").next.has_value());
}

TEST(UsageRecordsParserTest, WrongTypesNameTheFieldAndRecord) {
  struct Case {
    std::string json;
    std::string message;
  };
  const Case cases[] = {
      {R"({"items": [{}, {"budget": {"amount": true}}]})",
       "items[1].budget.amount: expected a decimal number, got true"},
      {R"({"items": [{"totalCost": "12,5"}]})", "items[0].totalCost: \"12,5\" is not a decimal number"},
      {R"({"items": [{"totalCost": "NaN"}]})", "items[0].totalCost: \"NaN\" is not a decimal number"},
      {R"({"items": [{"isUpgraded": "yes"}]})", "items[0].isUpgraded: expected true or false, got the string \"yes\""},
      {R"({"items": [{"resourceName": 42}]})", "items[0].resourceName: expected a string, got the number 42"},
      {R"({"items": [{"lastModifiedDate": "soon"}]})", "items[0].lastModifiedDate: \"soon\" is not an RFC 3339"},
      {R"({"items": [{"budget": [1]}]})", "items[0].budget: expected an object, got an array"},
      {R"({"items": [{"attributes": {"objectType": 1}}]})", "items[0].attributes.objectType: expected a string"},
      {R"({"items": [{}, {}, 7]})", "items[2]: expected a usage record object, got the number 7"},
      {R"({"items": [null]})", "items[0]: expected a usage record object, got null"},
      {R"({"items": {"a": 1}})", "items: expected an array, got an object"},
      {R"({"totalCount": "25", "items": []})", "totalCount: expected a non-negative integer"},
      {R"({"totalCount": 2.5, "items": []})", "totalCount: expected a non-negative integer"},
      {R"({"items": [], "links": {"next": {"method": "GET"}}})", "links.next: has no uri"},
      {R"({"items": [], "links": {"next": {"uri": "/x", "headers": [{"key": "K"}]}}})",
       "links.next.headers[0]: needs both"},
      {R"([{"items": []}])", "expected a JSON object (a collection of usage records), got an array"},
      {R"("hello")", "expected a JSON object"},
  };
  for (const Case& c : cases) {
    absl::Status status = ParseError(c.json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message)) << c.json;
  }
}

TEST(UsageRecordsParserTest, MalformedJsonIsAnError) {
  for (const char* json : {"", "{", R"({"items": [{"totalCost": 1.5)", R"({"items": []} trailing)",
                           R"({"items": [{"resourceName": "\xff\xfe"}]})", "<html>Service Unavailable</html>",
                           R"({"items": [{"totalCost": 01}]})", R"({"items": [{"totalCost": NaN}]})"}) {
    absl::Status status = ParseError(json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(std::string(status.message()), HasSubstr("not valid JSON")) << json;
  }
}

TEST(UsageRecordsParserTest, ErrorInALaterRecordDropsThePageNotSilentlyARecord) {
  absl::StatusOr<UsageRecordsPage> page =
      ParseUsageRecordsPage(R"({"items": [{"resourceId": "ok"}, {"totalCost": {}}, {"resourceId": "after"}]})");
  EXPECT_FALSE(page.ok());
  EXPECT_THAT(std::string(page.status().message()), HasSubstr("items[1].totalCost"));
}

TEST(UsageRecordsParserTest, OfAMemberSentTwiceTheLastOneCounts) {
  UsageRecordsPage page = ParseOk(R"({"items": [{"resourceId": "first"}], "items": [
      {"resourceId": "r1", "totalCost": 1, "totalCost": 2.50, "ResourceId": "r1-again",
       "budget": {"amount": 5, "attributes": {"objectType": "SpendingBudget"}}, "budget": {"amount": null},
       "percentUsed": 7, "percentUsed": null}]})");
  ASSERT_EQ(page.records.size(), 1u);
  const auto& record = page.records[0];
  EXPECT_EQ(record.resource_id(), "r1-again");
  EXPECT_EQ(record.total_cost().value(), "2.50");
  EXPECT_TRUE(record.has_budget());
  EXPECT_FALSE(record.budget().has_amount());
  EXPECT_EQ(record.budget().object_type(), "");
  EXPECT_FALSE(record.has_percent_used());
}

TEST(UsageRecordsParserTest, ANegativeZeroIntegerKeepsItsSign) {
  EXPECT_EQ(ParseOk(PageWith(R"({"totalCost": -0})")).records[0].total_cost().value(), "-0");
}

TEST(UsageRecordsParserTest, TheBytesAreWhatProtobufWouldWrite) {
  for (const std::string& json :
       {ReadRunfile("tests/emulator/data/sample-usagerecords-response.json"),
        std::string(R"({"items": [{"lastModifiedDate": "1969-12-31T23:59:59.9Z", "isUpgraded": false,
                        "budget": {}, "usageSpendingBudget": {"amount": "1e-7"}, "name": ""}]})")}) {
    UsageRecordsPage page = ParseOk(json);
    partnercenter::usage::v1::ListUsageRecordsResponse canonical;
    for (const auto& record : page.records) *canonical.add_usage_records() = record;
    EXPECT_EQ(std::string(page.records.Entries(0, page.records.size())), canonical.SerializeAsString());
    for (std::size_t i = 0; i < page.records.size(); ++i) {
      EXPECT_EQ(page.records.ResourceId(i), page.records[i].resource_id());
    }
  }
}

TEST(UsageRecordsParserTest, MembersPcusageDoesNotReadAreCheckedForStructureOnly) {
  // Their brackets, strings and UTF-8 must be valid; their atoms are not read, so not checked either.
  EXPECT_TRUE(ParseUsageRecordsPage(R"({"future": [NaN, 01], "items": []})").ok());
  EXPECT_FALSE(ParseUsageRecordsPage(std::string(R"({"future": [1, ")") + "\xff" + R"("], "items": []})").ok());
  EXPECT_FALSE(ParseUsageRecordsPage(R"({"future": [1, 2, "items": []})").ok());
}

TEST(UsageRecordsParserTest, ARecordTooLargeToSendIsAnError) {
  absl::Status status = ParseError(PageWith(R"({"resourceName": ")" + std::string(kMaxRecordBytes, 'n') + R"("})"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("items[0]: the record takes"));
}

TEST(UsageRecordsParserTest, ARecordWhoseTextsAloneAreTooLargeIsRefusedUnencoded) {
  const std::string text(kMaxRecordBytes / 2 + 1, 'n');
  absl::Status status = ParseError(PageWith(R"({"name": ")" + text + R"(", "resourceName": ")" + text + R"("})"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("items[0]: the record takes more than"));
}

// A page of `count` empty records.
std::string EmptyRecords(std::size_t count) {
  std::string items;
  for (std::size_t i = 0; i < count; ++i) items += i == 0 ? "{}" : ",{}";
  return R"({"items": [)" + items + "]}";
}

TEST(UsageRecordsParserTest, APageHoldsOneRecordForEverySoManyBytesOfIt) {
  EXPECT_EQ(MaxPageRecords(0), kMinMaxPageRecords);
  EXPECT_EQ(MaxPageRecords(64 << 20), (std::size_t{64} << 20) / kMinPageBytesPerRecord);
  EXPECT_EQ(ParseOk(EmptyRecords(kMinMaxPageRecords)).records.size(), kMinMaxPageRecords);
  absl::Status status = ParseError(EmptyRecords(kMinMaxPageRecords + 1));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("items: more than " + std::to_string(kMinMaxPageRecords) + " records"));
}

TEST(PageRecordsTest, ShrinkToFitKeepsTheRecordsAndGivesBackTheSlack) {
  PageRecords records;
  records.Reserve(1 << 20);
  PageRecords::Record record;
  record.set_resource_id("r1");
  record.set_name("Contoso");
  records.Append(record);
  const PageRecords shared = records;  // a copy sharing the bytes keeps its own view
  const std::string before(records.Entries(0, 1));
  ASSERT_GE(records.bytes(), std::size_t{1} << 20);
  records.ShrinkToFit();
  EXPECT_LT(records.bytes(), std::size_t{1} << 10);
  EXPECT_EQ(std::string(records.Entries(0, 1)), before);
  EXPECT_EQ(std::string(shared.Entries(0, 1)), before);
  EXPECT_EQ(records.ResourceId(0), "r1");
}

}  // namespace
}  // namespace pcusage::partner_center
