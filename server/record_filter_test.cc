#include "server/record_filter.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using partner_center::RecordFacts;
using ::testing::HasSubstr;

constexpr char kSek[] = "b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2";
constexpr char kUk[] = "d3d3d3d3-eeee-ffff-aaaa-b4b4b4b4b4b4";
constexpr char kLegacy[] = "a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1";

// The seed sample's customers, as their facts.
RecordFacts Sek() { return {kSek, "SEK", "602.84", true}; }
RecordFacts Uk() { return {kUk, "GBP", "28.08", true}; }
RecordFacts Legacy() { return {kLegacy, "", "0", false}; }
RecordFacts NoPercent() { return {kUk, "GBP", std::nullopt, true}; }

RecordFilter FilterOf(const v1::ListUsageRecordsRequest& request) {
  absl::StatusOr<std::optional<RecordFilter>> filter = RecordFilter::FromRequest(request);
  EXPECT_TRUE(filter.ok()) << filter.status();
  EXPECT_TRUE(filter.ok() && filter->has_value());
  return **filter;
}

RecordFilter MinPercent(const std::string& minimum) {
  v1::ListUsageRecordsRequest request;
  request.mutable_min_percent_used()->set_value(minimum);
  return FilterOf(request);
}

TEST(RecordFilterTest, ARequestWithoutFiltersHasNone) {
  v1::ListUsageRecordsRequest request;
  request.set_page_size(10);
  request.mutable_max_staleness()->set_seconds(5);
  absl::StatusOr<std::optional<RecordFilter>> filter = RecordFilter::FromRequest(request);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_FALSE(filter->has_value());
}

TEST(RecordFilterTest, CustomerIdsMatchTheResourceIdInAnyCase) {
  v1::ListUsageRecordsRequest request;
  request.add_customer_ids("B1B1B1B1-CCCC-DDDD-EEEE-F2F2F2F2F2F2");
  request.add_customer_ids(kLegacy);
  const RecordFilter filter = FilterOf(request);
  EXPECT_TRUE(filter.Passes(Sek()));
  EXPECT_TRUE(filter.Passes(Legacy()));
  EXPECT_FALSE(filter.Passes(Uk()));
  EXPECT_FALSE(filter.Passes({"", "SEK", "1", true}));
  EXPECT_FALSE(filter.Passes({"b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2x", "SEK", "1", true}));
  RecordFacts upper_case = Sek();
  upper_case.resource_id = "B1b1B1b1-CCCC-dddd-EEEE-f2f2f2f2f2f2";
  EXPECT_TRUE(filter.Passes(upper_case));
}

TEST(RecordFilterTest, CurrencyCodesMatchInAnyCaseAndNeverARecordWithoutOne) {
  v1::ListUsageRecordsRequest request;
  request.add_currency_codes("gbp");
  request.add_currency_codes("EUR");
  const RecordFilter filter = FilterOf(request);
  EXPECT_TRUE(filter.Passes(Uk()));
  EXPECT_FALSE(filter.Passes(Sek()));
  EXPECT_FALSE(filter.Passes(Legacy()));  // a legacy record: a locale, no currency code
  EXPECT_TRUE(filter.Passes({kSek, "eur", "1", true}));
  EXPECT_FALSE(filter.Passes({kSek, "EURO", "1", true}));
}

TEST(RecordFilterTest, MinPercentUsedComparesExactly) {
  const RecordFilter eighty = MinPercent("80");
  EXPECT_TRUE(eighty.Passes({kSek, "SEK", "80", true}));
  EXPECT_TRUE(eighty.Passes({kSek, "SEK", "80.0", true}));
  EXPECT_TRUE(eighty.Passes({kSek, "SEK", "8E+1", true}));
  EXPECT_TRUE(eighty.Passes({kSek, "SEK", "80.00000000000000000001", true}));
  EXPECT_TRUE(eighty.Passes(Sek()));
  EXPECT_FALSE(eighty.Passes({kSek, "SEK", "79.99999999999999999999", true}));
  EXPECT_FALSE(eighty.Passes({kSek, "SEK", "-602.84", true}));
  EXPECT_FALSE(eighty.Passes(Uk()));
  EXPECT_FALSE(eighty.Passes(NoPercent()));
  EXPECT_FALSE(eighty.Passes({kSek, "SEK", "1E+1000000000000000000", true}));  // no library reads it
  // The boundary itself, written otherwise.
  EXPECT_TRUE(MinPercent("79.99999999999999999999").Passes({kSek, "SEK", "79.99999999999999999999", true}));
  EXPECT_TRUE(MinPercent("080.000").Passes({kSek, "SEK", "80", true}));
  EXPECT_TRUE(MinPercent("-5").Passes(Legacy()));
  EXPECT_TRUE(MinPercent("0").Passes(Legacy()));
  EXPECT_TRUE(MinPercent("").Passes(Legacy()));  // google.type.Decimal: "" is 0
  EXPECT_FALSE(MinPercent("").Passes(NoPercent()));
  EXPECT_FALSE(MinPercent("0.0000000000000000000000001").Passes(Legacy()));
}

TEST(RecordFilterTest, OnlyWithBudgetWantsAnAmount) {
  v1::ListUsageRecordsRequest request;
  request.set_only_with_budget(true);
  const RecordFilter filter = FilterOf(request);
  EXPECT_TRUE(filter.Passes(Sek()));
  EXPECT_FALSE(filter.Passes(Legacy()));
}

TEST(RecordFilterTest, FiltersCombineAndEveryOneMustPass) {
  v1::ListUsageRecordsRequest request;
  request.add_customer_ids(kSek);
  request.add_customer_ids(kUk);
  request.add_customer_ids(kLegacy);
  request.add_currency_codes("GBP");
  request.add_currency_codes("SEK");
  request.mutable_min_percent_used()->set_value("28.08");
  request.set_only_with_budget(true);
  const RecordFilter filter = FilterOf(request);
  EXPECT_TRUE(filter.Passes(Sek()));
  EXPECT_TRUE(filter.Passes(Uk()));
  EXPECT_FALSE(filter.Passes(Legacy()));
  RecordFacts under = Uk();
  under.percent_used = "28.07999999999999999999";
  EXPECT_FALSE(filter.Passes(under));
  RecordFacts no_budget = Uk();
  no_budget.budget_has_amount = false;
  EXPECT_FALSE(filter.Passes(no_budget));
  RecordFacts other_customer = Uk();
  other_customer.resource_id = "e4e4e4e4-ffff-aaaa-bbbb-c5c5c5c5c5c5";
  EXPECT_FALSE(filter.Passes(other_customer));
  RecordFacts other_currency = Uk();
  other_currency.currency_code = "EUR";
  EXPECT_FALSE(filter.Passes(other_currency));
}

// The field violation and ErrorInfo of a refused request.
void ExpectRefused(const v1::ListUsageRecordsRequest& request, const std::string& field, const std::string& says) {
  const absl::StatusOr<std::optional<RecordFilter>> filter = RecordFilter::FromRequest(request);
  ASSERT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument) << field;
  EXPECT_THAT(filter.status().message(), HasSubstr(says)) << field;
  const std::optional<google::rpc::BadRequest> bad_request = GetBadRequest(filter.status());
  ASSERT_TRUE(bad_request.has_value()) << field;
  ASSERT_EQ(bad_request->field_violations_size(), 1) << field;
  EXPECT_EQ(bad_request->field_violations(0).field(), field);
  EXPECT_THAT(bad_request->field_violations(0).description(), HasSubstr(says));
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(filter.status());
  ASSERT_TRUE(info.has_value()) << field;
  EXPECT_EQ(info->reason(), reason::kInvalidArgument);
  EXPECT_EQ(info->metadata().at("field"), field);
}

TEST(RecordFilterTest, RefusesCustomerIdsThatAreNoGuids) {
  for (const char* id :
       {"", "b1b1b1b1", "b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2 ", "{b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2}",
        "g1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2", "b1b1b1b1ccccddddeeeef2f2f2f2f2f2"}) {
    v1::ListUsageRecordsRequest request;
    request.add_customer_ids(kSek);
    request.add_customer_ids(id);
    ExpectRefused(request, "customer_ids[1]", "must be a customer's tenant id, a GUID");
  }
}

TEST(RecordFilterTest, RefusesCurrencyCodesThatAreNoThreeLetters) {
  for (const char* code : {"", "EU", "EURO", "E1R", "€", "EU "}) {
    v1::ListUsageRecordsRequest request;
    request.add_currency_codes(code);
    ExpectRefused(request, "currency_codes[0]", "must be an ISO 4217 currency code");
  }
}

TEST(RecordFilterTest, RefusesAMinPercentUsedThatIsNoDecimal) {
  for (const char* minimum : {"eighty", "80%", "8,0", "NaN", " 80", "1E+1000000000000000000", "."}) {
    v1::ListUsageRecordsRequest request;
    request.mutable_min_percent_used()->set_value(minimum);
    ExpectRefused(request, "min_percent_used", "min_percent_used must be a decimal number");
  }
}

TEST(RecordFilterTest, RefusesListsLongerThanTheBound) {
  v1::ListUsageRecordsRequest request;
  for (int i = 0; i <= kMaxFilterValues; ++i) request.add_customer_ids(kSek);
  ExpectRefused(request, "customer_ids", "at most 10000");
  request.mutable_customer_ids()->RemoveLast();
  EXPECT_TRUE(RecordFilter::FromRequest(request).ok());
  v1::ListUsageRecordsRequest currencies;
  for (int i = 0; i <= kMaxFilterValues; ++i) currencies.add_currency_codes("EUR");
  ExpectRefused(currencies, "currency_codes", "at most 10000");
}

TEST(RecordFilterTest, CopiesKeepTheMinimum) {
  std::optional<RecordFilter> copy;
  {
    v1::ListUsageRecordsRequest request;
    request.mutable_min_percent_used()->set_value("80.000000000000000000000000");  // longer than any short string
    copy = FilterOf(request);
  }
  EXPECT_TRUE(copy->Passes({kSek, "SEK", "80", true}));
  EXPECT_FALSE(copy->Passes({kSek, "SEK", "79.99999999999999999999", true}));
}

}  // namespace
}  // namespace pcusage
