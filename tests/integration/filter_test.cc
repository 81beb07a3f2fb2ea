// ListUsageRecords filters over real processes on loopback: the emulator's generated data set walked by a real
// pcusage_server, each filter and their combinations checked against the unfiltered list, resume on a filtered
// stream, progress messages over pages that match nothing, and, from the emulator's request log, that filtered and
// unfiltered calls of one identity share one walk of Partner Center.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/emulator_and_server.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::pcusage::testing::EmulatorAndServer;
using Record = v1::CustomerMonthlyUsageRecord;

// 25 pages of 10: more pages than a filtered stream lets go by without a message (10).
constexpr int kCustomers = 250;
constexpr int kPageSize = 10;
constexpr int kPages = kCustomers / kPageSize;

// The emulator's percentUsed texts (tests/emulator/dataset.cc, as the server normalizes them) that reach 100:
// "1E+2" is exactly 100, "79228162514264337593543950335" is more than a double holds exactly.
const std::set<std::string>& AtLeastOneHundred() {
  static const auto* const kTexts =
      new std::set<std::string>{"120.5682999999995904716",       "1.5E+2", "79228162514264337593543950335",
                                "1234567890.123456789012345678", "1E+2",   "602.84"};
  return *kTexts;
}

client::ListOptions Options() {
  client::ListOptions options;
  options.page_size = 7;
  options.timeout = absl::Seconds(60);
  return options;
}

std::vector<std::string> Ids(const std::vector<Record>& records) {
  std::vector<std::string> ids;
  ids.reserve(records.size());
  for (const Record& record : records) ids.push_back(record.resource_id());
  return ids;
}

template <typename Predicate>
std::vector<std::string> IdsWhere(const std::vector<Record>& records, Predicate&& passes) {
  std::vector<std::string> ids;
  for (const Record& record : records) {
    if (passes(record)) ids.push_back(record.resource_id());
  }
  return ids;
}

class FilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EmulatorAndServer>> stack = EmulatorAndServer::Start(
        {"--dataset=generated", absl::StrCat("--customers=", kCustomers), absl::StrCat("--page_size=", kPageSize)},
        EmulatorAndServer::WithTokenFile());
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // The usage-route requests in the emulator's log since it was last cleared, and how many asked for the first page.
  std::pair<int, int> RequestsAndWalks() const {
    int requests = 0;
    int walks = 0;
    for (const nlohmann::json& request : stack_->EmulatorRequests()) {
      if (request.value("path", "") != "/v1/customers/usagerecords") continue;
      ++requests;
      walks += request.value("page", -1) == 0 ? 1 : 0;
    }
    return {requests, walks};
  }

  EmulatorAndServer::Listing ListOk(const client::ListOptions& options) const {
    EmulatorAndServer::Listing listing = stack_->List(options);
    EXPECT_TRUE(listing.summary.status.ok()) << listing.summary.status.error_message();
    return listing;
  }

  std::unique_ptr<EmulatorAndServer> stack_;
};

TEST_F(FilterTest, EachFilterAndTheirCombinationsGiveExactlyTheMatchingRecordsFromOneSharedWalk) {
  ASSERT_TRUE(stack_->SetFaults("[]").ok());  // clears the request log
  // A filtered call first: it starts the walk, which still covers every page.
  client::ListOptions euro = Options();
  euro.currency_codes = {"eur"};
  const EmulatorAndServer::Listing euros = ListOk(euro);
  EXPECT_FALSE(euros.summary.from_shared_snapshot);
  EXPECT_EQ(RequestsAndWalks(), std::make_pair(kPages, 1));

  const EmulatorAndServer::Listing all = ListOk(Options());
  ASSERT_EQ(all.records.size(), static_cast<std::size_t>(kCustomers));
  EXPECT_TRUE(all.summary.from_shared_snapshot);
  EXPECT_EQ(Ids(euros.records), IdsWhere(all.records, [](const Record& r) { return r.currency_code() == "EUR"; }));
  EXPECT_FALSE(euros.records.empty());

  client::ListOptions some = Options();
  const std::vector<std::string> chosen = {all.records[3].resource_id(), all.records[171].resource_id(),
                                           all.records[249].resource_id()};
  some.customer_ids = {absl::AsciiStrToUpper(chosen[2]), chosen[0], chosen[1]};
  EXPECT_EQ(Ids(ListOk(some).records), chosen);

  client::ListOptions hundred = Options();
  hundred.min_percent_used = "100";
  const std::vector<std::string> at_least_100 = IdsWhere(all.records, [](const Record& r) {
    return r.has_percent_used() && AtLeastOneHundred().count(r.percent_used().value()) > 0;
  });
  EXPECT_FALSE(at_least_100.empty());
  EXPECT_EQ(Ids(ListOk(hundred).records), at_least_100);
  // 100.0 is the same bound; just past it, "1E+2" no longer passes.
  hundred.min_percent_used = "100.0";
  EXPECT_EQ(Ids(ListOk(hundred).records), at_least_100);
  hundred.min_percent_used = "100.00000000000000000001";
  EXPECT_EQ(Ids(ListOk(hundred).records), IdsWhere(all.records, [](const Record& r) {
              return r.has_percent_used() && r.percent_used().value() != "1E+2" &&
                     AtLeastOneHundred().count(r.percent_used().value()) > 0;
            }));

  client::ListOptions budgeted = Options();
  budgeted.only_with_budget = true;
  const auto has_budget = [](const Record& r) { return r.has_budget() && r.budget().has_amount(); };
  EXPECT_EQ(Ids(ListOk(budgeted).records), IdsWhere(all.records, has_budget));

  client::ListOptions combined = Options();
  combined.currency_codes = {"EUR", "GBP", "JPY"};
  combined.min_percent_used = "100";
  combined.only_with_budget = true;
  const EmulatorAndServer::Listing narrow = ListOk(combined);
  EXPECT_EQ(Ids(narrow.records), IdsWhere(all.records, [&has_budget](const Record& r) {
              const std::string& code = r.currency_code();
              return (code == "EUR" || code == "GBP" || code == "JPY") && has_budget(r) && r.has_percent_used() &&
                     AtLeastOneHundred().count(r.percent_used().value()) > 0;
            }));
  EXPECT_TRUE(narrow.summary.from_shared_snapshot);

  // Every call after the first was served from its walk: Partner Center was asked for the list once.
  EXPECT_EQ(RequestsAndWalks(), std::make_pair(kPages, 1));
  // The call summaries say which calls were filtered, and count what they delivered.
  const std::string log = stack_->ServerLog();
  EXPECT_THAT(log, ::testing::HasSubstr(absl::StrCat("records=", euros.records.size(), " pages=", kPages)));
  EXPECT_THAT(log, ::testing::HasSubstr("filtered=true"));
  EXPECT_THAT(log, ::testing::HasSubstr("filtered=false"));
}

TEST_F(FilterTest, InvalidFiltersAreRefusedWithTheFieldNamedAndAskNothingUpstream) {
  ASSERT_TRUE(stack_->SetFaults("[]").ok());
  client::ListOptions bad = Options();
  bad.min_percent_used = "80 %";
  const EmulatorAndServer::Listing refused = stack_->List(bad);
  EXPECT_EQ(refused.summary.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(refused.summary.error_info.has_value());
  EXPECT_EQ(refused.summary.error_info->reason(), "INVALID_ARGUMENT");
  EXPECT_EQ(refused.summary.error_info->metadata().at("field"), "min_percent_used");
  EXPECT_EQ(refused.summary.messages, 0);
  EXPECT_EQ(RequestsAndWalks(), std::make_pair(0, 0));
}

TEST_F(FilterTest, AResumedFilteredStreamContinuesWithNoRecordTwiceOrLost) {
  const EmulatorAndServer::Listing all = ListOk(Options());
  client::ListOptions euro = Options();
  euro.page_size = 3;
  euro.currency_codes = {"EUR"};
  const std::vector<std::string> expected =
      IdsWhere(all.records, [](const Record& r) { return r.currency_code() == "EUR"; });
  ASSERT_GT(expected.size(), 20u);
  // Stops (cancels) after 10 records; the summary's token is after the last message taken whole.
  const EmulatorAndServer::Listing first = stack_->List(euro, /*stop_after=*/10);
  ASSERT_FALSE(first.summary.resume_token.empty());
  for (const bool fresh : {false, true}) {
    client::ListOptions resume = euro;
    resume.resume_token = first.summary.resume_token;
    if (fresh) resume.max_staleness = absl::ZeroDuration();  // the walk's snapshot or Partner Center's page: the same
    const EmulatorAndServer::Listing rest = ListOk(resume);
    const std::size_t before = expected.size() - rest.records.size();
    EXPECT_LE(before, first.records.size()) << fresh;
    EXPECT_GE(before + 3, first.records.size()) << fresh;
    EXPECT_EQ(Ids(rest.records),
              std::vector<std::string>(expected.begin() + static_cast<std::ptrdiff_t>(before), expected.end()))
        << fresh;
    const std::vector<std::string> received = Ids(first.records);
    EXPECT_EQ(std::vector<std::string>(received.begin(), received.begin() + static_cast<std::ptrdiff_t>(before)),
              std::vector<std::string>(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(before)))
        << fresh;
  }
}

TEST_F(FilterTest, PagesThatMatchNothingStillMoveTheStreamOn) {
  const EmulatorAndServer::Listing all = ListOk(Options());
  client::ListOptions last = Options();
  last.customer_ids = {all.records.back().resource_id()};
  const EmulatorAndServer::Listing only = ListOk(last);
  EXPECT_EQ(Ids(only.records), std::vector<std::string>{all.records.back().resource_id()});
  // The first message (no record), one after every 10 pages that matched nothing, and the record: at least 3.
  EXPECT_GE(only.summary.messages, kPages / 10 + 1);
  EXPECT_FALSE(only.summary.resume_token.empty());
}

}  // namespace
}  // namespace pcusage
