// The page translator's speed, in records/s and MB/s, on Partner-Center-shaped pages of 100 and 1000 records:
// typical records (about 840 bytes, the documented sample's shape with long decimals) and the emulator's generated
// records (every awkward case: escapes, exponents, nulls, unknown fields). Beside it, nlohmann/json's SAX parser
// with a handler that does nothing: the floor under any translator built on nlohmann, the one pcusage used before.
// And what a filtered ListUsageRecords call adds per record: reading the fields a filter looks at from the translated
// bytes (ReadRecordFacts), which an unfiltered call never does.
//
//   bazel run -c opt //bench:translator_benchmark
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "server/partner_center/record_facts.h"
#include "server/partner_center/usage_records_parser.h"
#include "tests/emulator/dataset.h"

namespace pcusage {
namespace {

// One record in the shape of the documented sample's second item, with varied ids, names and values.
std::string TypicalRecord(int i) {
  const std::string id = absl::StrFormat("%08x-bbbb-cccc-dddd-%012x", 0xb1b1b1b1 + i, 0xf2f2f2f2f2f2ULL + i);
  return absl::StrCat(
      R"({"budget": {"amount": )", 20 + i % 500, R"(, "attributes": {"objectType": "SpendingBudget"}},)",
      R"("customerSpendingBudget": {"amount": )", 100 + i % 7,
      R"(.5, "attributes": {"objectType": "SpendingBudget"}},)", R"("percentUsed": )", i % 1000, ".", 10000 + i % 89999,
      R"(, "isUpgraded": )", i % 3 == 0 ? "true" : "false", R"(, "resourceId": ")", id, R"(", "id": ")", id,
      R"(", "resourceName": "Modern Azure Customer )", i,
      R"( Handelsgesellschaft mbH", "name": "Modern Azure Customer )", i, R"( Handelsgesellschaft mbH",)",
      R"( "totalCost": )", i % 10000, ".", 5682999999995904716ULL - static_cast<uint64_t>(i),
      R"(, "currencyLocale": "sv-SE", "currencyCode": "SEK", "currencySymbol": "kr", "usdTotalCost": )", i % 1000, ".",
      99999999999985235ULL + static_cast<uint64_t>(i),
      R"(, "lastModifiedDate": "2019-09-17T17:08:11.1433333+00:00", "attributes": {"objectType": )",
      R"("CustomerMonthlyUsageRecord"}})");
}

std::string TypicalPage(int records) {
  std::string items;
  for (int i = 0; i < records; ++i) absl::StrAppend(&items, i == 0 ? "" : ",", TypicalRecord(i));
  return absl::StrCat(R"({"totalCount": )", records, R"(, "items": [)", items,
                      R"(], "links": {"self": {"uri": "/customers/usagerecords", "method": "GET", "headers": []},)",
                      R"( "next": {"uri": "/v1/customers/usagerecords?seekOperation=Next", "method": "GET",)",
                      R"( "headers": [{"key": "MS-ContinuationToken", "value": "bmV4dC1wYWdl"}]}},)",
                      R"( "attributes": {"objectType": "Collection"}})");
}

std::string GeneratedPage(int records) { return emulator::GeneratedDataset(records, records).RenderPage(0); }

void Report(benchmark::State& state, const std::string& page, int records) {
  state.SetItemsProcessed(state.iterations() * records);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(page.size()));
  state.counters["bytes_per_record"] = static_cast<double>(page.size()) / records;
}

void BM_Translate(benchmark::State& state, std::string (*make_page)(int)) {
  const int records = static_cast<int>(state.range(0));
  const std::string page = make_page(records);
  for (auto _ : state) {
    absl::StatusOr<partner_center::UsageRecordsPage> translated = partner_center::ParseUsageRecordsPage(page);
    if (!translated.ok() || translated->records.size() != static_cast<std::size_t>(records)) {
      state.SkipWithError("the page did not translate");
      return;
    }
    benchmark::DoNotOptimize(translated);
  }
  Report(state, page, records);
}

class NoOpSax final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

void BM_NlohmannSaxNoOp(benchmark::State& state, std::string (*make_page)(int)) {
  const int records = static_cast<int>(state.range(0));
  const std::string page = make_page(records);
  for (auto _ : state) {
    NoOpSax handler;
    benchmark::DoNotOptimize(nlohmann::json::sax_parse(page.begin(), page.end(), &handler));
  }
  Report(state, page, records);
}

void BM_ReadRecordFacts(benchmark::State& state, std::string (*make_page)(int)) {
  const int records = static_cast<int>(state.range(0));
  const std::string page = make_page(records);
  const absl::StatusOr<partner_center::UsageRecordsPage> translated = partner_center::ParseUsageRecordsPage(page);
  if (!translated.ok()) {
    state.SkipWithError("the page did not translate");
    return;
  }
  for (auto _ : state) {
    for (std::size_t i = 0; i < translated->records.size(); ++i) {
      absl::StatusOr<partner_center::RecordFacts> facts =
          partner_center::ReadRecordFacts(translated->records.Entries(i, i + 1));
      benchmark::DoNotOptimize(facts);
    }
  }
  Report(state, page, records);
}

BENCHMARK_CAPTURE(BM_Translate, typical, &TypicalPage)->Arg(100)->Arg(1000);
BENCHMARK_CAPTURE(BM_Translate, generated, &GeneratedPage)->Arg(100)->Arg(1000);
BENCHMARK_CAPTURE(BM_NlohmannSaxNoOp, typical, &TypicalPage)->Arg(100)->Arg(1000);
BENCHMARK_CAPTURE(BM_NlohmannSaxNoOp, generated, &GeneratedPage)->Arg(100)->Arg(1000);
BENCHMARK_CAPTURE(BM_ReadRecordFacts, typical, &TypicalPage)->Arg(1000);
BENCHMARK_CAPTURE(BM_ReadRecordFacts, generated, &GeneratedPage)->Arg(1000);

}  // namespace
}  // namespace pcusage

BENCHMARK_MAIN();
