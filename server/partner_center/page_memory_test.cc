// What translating one page costs in memory, measured as the growth of this process's peak RSS (VmHWM, reset
// through /proc/self/clear_refs before each page) while hostile pages of --max_response_bytes' default size (64 MiB)
// are translated. The page's own bytes are resident before the measurement starts: the figures are what the
// translation adds to the body libcurl already holds. A binary of its own, so nothing else shares its peak.
//
// Where the memory goes (simdjson 3 On-Demand): a padded copy of the page (1x), the structural index (4 bytes for
// every structural character: up to 4x, reached by a page such as [0,0,0,...]), the unescaped strings the
// translator reads, and the translated records (about the size of the texts they keep, plus 16 bytes a record, and
// a page holds at most one record for every kMinPageBytesPerRecord bytes). Unknown members are skipped without
// being stored, however large or deep; a record too large to send is refused before it is encoded.
#include <malloc.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/partner_center/usage_records_parser.h"

namespace pcusage::partner_center {
namespace {

using ::testing::HasSubstr;

// --max_response_bytes' default: the largest page the server accepts.
constexpr std::size_t kPageBytes = std::size_t{64} << 20;

// What translating a page may add to the peak, as a multiple of the page's size (docs/security.md, "Limits"): the
// padded copy (1x) and the structural index (up to 4x), plus a page's most records of 16 bytes each (0.25x), which
// a page of `{}` records reaches (5.28x measured). Another copy of the page anywhere on the way fails it; the
// translator this replaced took about 46x.
constexpr double kMaxGrowthFactor = 5.5;

constexpr double kMiB = 1 << 20;

// A field of /proc/self/status, in bytes ("VmHWM", "VmRSS").
std::size_t StatusBytes(absl::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    const absl::string_view text = line;
    if (!absl::StartsWith(text, field) || text.size() <= field.size() || text[field.size()] != ':') continue;
    absl::string_view value = absl::StripAsciiWhitespace(text.substr(field.size() + 1));
    value = absl::StripSuffix(value, " kB");
    std::size_t kib = 0;
    if (absl::SimpleAtoi(value, &kib)) return kib << 10;
  }
  ADD_FAILURE() << "no " << field << " in /proc/self/status";
  return 0;
}

// Gives free memory back to the kernel and makes the peak RSS the current RSS, so that VmHWM then shows the peak of
// what follows alone.
bool ResetPeak() {
  malloc_trim(0);
  std::FILE* clear_refs = std::fopen("/proc/self/clear_refs", "w");
  if (clear_refs == nullptr) return false;
  const bool written = std::fputs("5", clear_refs) >= 0;
  return std::fclose(clear_refs) == 0 && written;
}

// How much `work` raised the peak RSS, in bytes.
template <typename Work>
std::size_t PeakGrowth(Work&& work) {
  EXPECT_TRUE(ResetPeak()) << "cannot reset the peak RSS through /proc/self/clear_refs";
  const std::size_t before = StatusBytes("VmHWM");
  work();
  const std::size_t after = StatusBytes("VmHWM");
  return after > before ? after - before : 0;
}

// What the server does with a page after translating it: ParseUsageRecordsPage, then, for a page, the shrink a
// snapshot does before holding it and a walk over its records in messages of at most 1 MiB (the writer sends
// slices of the page's bytes). Returns the status and, through `records`, how many records the page had.
absl::Status TranslateAsServed(absl::string_view json, std::size_t* records) {
  absl::StatusOr<UsageRecordsPage> page = ParseUsageRecordsPage(json);
  if (!page.ok()) return page.status();
  page->records.ShrinkToFit();
  std::size_t sent = 0;
  std::size_t begin = 0;
  while (begin < page->records.size()) {
    std::size_t end = begin + 1;
    while (end < page->records.size() && page->records.Entries(begin, end + 1).size() <= (1 << 20)) ++end;
    sent += page->records.Entries(begin, end).size();
    begin = end;
  }
  *records = page->records.size();
  return sent > 0 || page->records.empty() ? absl::OkStatus() : absl::InternalError("no bytes to send");
}

struct Measured {
  absl::Status status;
  std::size_t records = 0;
  std::size_t growth = 0;
};

// Translates `json` and reports the peak growth in MiB and as a multiple of the page's size.
Measured Measure(absl::string_view name, const std::string& json) {
  Measured measured;
  measured.growth = PeakGrowth([&] { measured.status = TranslateAsServed(json, &measured.records); });
  std::printf("%s: page %.1f MiB, %zu records, %s; peak RSS +%.1f MiB (%.2fx the page)\n", std::string(name).c_str(),
              static_cast<double>(json.size()) / kMiB, measured.records,
              measured.status.ok() ? "OK" : std::string(measured.status.message().substr(0, 100)).c_str(),
              static_cast<double>(measured.growth) / kMiB,
              static_cast<double>(measured.growth) / static_cast<double>(json.size()));
  return measured;
}

void ExpectBounded(const Measured& measured, std::size_t page_bytes) {
  EXPECT_LE(static_cast<double>(measured.growth), kMaxGrowthFactor * static_cast<double>(page_bytes))
      << "translating a page of " << page_bytes << " bytes raised the peak RSS by " << measured.growth << " bytes";
}

// `[0,0,0,...,0]` taking `bytes`: one structural character per byte, the densest JSON there is.
std::string Zeros(std::size_t bytes) {
  std::string zeros(bytes - bytes % 2, ',');
  zeros.front() = '[';
  for (std::size_t i = 1; i < zeros.size(); i += 2) zeros[i] = '0';
  zeros.back() = ']';
  return zeros;
}

// A page of one record, `before` + `member` + `after` around it, its member `member` an array of zeros that makes
// the page kPageBytes long.
std::string OneRecordPage(absl::string_view member) {
  const std::string head = absl::StrCat(R"({"totalCount":1,"items":[{"id":"1","resourceId":"r1",")", member, R"(":)");
  const std::string tail = R"(}],"links":{}})";
  std::string page = head;
  page += Zeros(kPageBytes - head.size() - tail.size());
  page += tail;
  return page;
}

TEST(PageMemoryTest, OneRecordWhoseUnknownMemberFillsThePage) {
  const std::string json = OneRecordPage("usageDetails");
  const Measured measured = Measure("unknown member [0,0,...]", json);
  EXPECT_TRUE(measured.status.ok()) << measured.status;
  EXPECT_EQ(measured.records, 1U);
  ExpectBounded(measured, json.size());
}

TEST(PageMemoryTest, OneRecordWhoseAttributesAreAnArrayFillingThePage) {
  // attributes is read (its objectType): an array there is an error, found without keeping the array.
  const std::string json = OneRecordPage("attributes");
  const Measured measured = Measure("record attributes [0,0,...]", json);
  EXPECT_EQ(measured.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(measured.status.message(), HasSubstr("items[0].attributes: expected an object, got an array"));
  ExpectBounded(measured, json.size());
}

TEST(PageMemoryTest, CollectionWhoseUnknownMemberFillsThePage) {
  const std::string head = R"({"totalCount":0,"items":[],"attributes":)";
  const std::string tail = "}";
  const std::string json = head + Zeros(kPageBytes - head.size() - tail.size()) + tail;
  const Measured measured = Measure("collection attributes [0,0,...]", json);
  EXPECT_TRUE(measured.status.ok()) << measured.status;
  EXPECT_EQ(measured.records, 0U);
  ExpectBounded(measured, json.size());
}

// Records of a few known fields each, then an unknown member nesting arrays and objects 12 deep, ~16 KiB of them.
std::string ManyNestedRecordsPage() {
  std::string nested = "[";
  for (int i = 0; i < 200; ++i) {
    if (i > 0) nested += ',';
    nested += R"({"a":[{"b":[1,{"c":[[{"d":{"e":[[{"f":[0,0.5,-1e3,true,null,"s\u00e9"]}]]}}]]}]}]})";
  }
  nested += ']';
  std::string json = R"({"totalCount":1,"items":[)";
  const std::string tail = R"(],"links":{"self":{"uri":"/x","method":"GET","headers":[]}}})";
  std::size_t records = 0;
  while (json.size() + nested.size() + 300 + tail.size() < kPageBytes) {
    if (records > 0) json += ',';
    absl::StrAppend(&json, R"({"id":"c)", records, R"(","name":"Contoso","resourceId":"r)", records,
                    R"(","totalCost":12.5,"extra":)", nested, R"(,"isUpgraded":true})");
    ++records;
  }
  json += tail;
  return json;
}

TEST(PageMemoryTest, ManyRecordsWithLargeNestedUnknownMembers) {
  const std::string json = ManyNestedRecordsPage();
  const Measured measured = Measure("records with nested unknown members", json);
  EXPECT_TRUE(measured.status.ok()) << measured.status;
  EXPECT_GT(measured.records, 1000U);
  ExpectBounded(measured, json.size());
}

TEST(PageMemoryTest, KnownStringsLargerThanARecordMayBe) {
  // name and resourceName of 32 MiB each: read (their text is unescaped), then refused as a record larger than
  // kMaxRecordBytes. Nothing is kept.
  const std::string text((kPageBytes - 200) / 2, 'n');
  const std::string json = absl::StrCat(R"({"totalCount":1,"items":[{"id":"1","resourceId":"r1","name":")", text,
                                        R"(","resourceName":")", text, R"("}]})");
  const Measured measured = Measure("record of 2 x 32 MiB known strings", json);
  EXPECT_EQ(measured.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(measured.status.message(), HasSubstr("items[0]: the record takes more than"));
  ExpectBounded(measured, json.size());
}

TEST(PageMemoryTest, KnownStringsThatFillThePageAreKept) {
  // Records as large as pcusage sends, all text it keeps: the translated page is about as large as the JSON.
  const std::string text(kMaxRecordBytes - 1024, 'n');
  std::string json = R"({"totalCount":1,"items":[)";
  std::size_t records = 0;
  while (json.size() + text.size() + 200 < kPageBytes) {
    if (records > 0) json += ',';
    absl::StrAppend(&json, R"({"id":"c)", records, R"(","resourceId":"r)", records, R"(","name":")", text, R"("})");
    ++records;
  }
  json += "]}";
  const Measured measured = Measure("records of known strings filling the page", json);
  EXPECT_TRUE(measured.status.ok()) << measured.status;
  EXPECT_EQ(measured.records, records);
  ExpectBounded(measured, json.size());
}

// `record` repeated as the items of a page of kPageBytes.
std::string RepeatedRecordPage(absl::string_view record, std::size_t* records) {
  std::string json = R"({"totalCount":1,"items":[)";
  *records = 0;
  while (json.size() + record.size() + 3 < kPageBytes) {
    if (*records > 0) json += ',';
    json.append(record.data(), record.size());
    ++*records;
  }
  json += "]}";
  return json;
}

TEST(PageMemoryTest, EmptyRecordsFillingThePageAreRefused) {
  // 22 million records of nothing: what is kept for each record would cost many times the page, so a page holds at
  // most one record for every kMinPageBytesPerRecord bytes.
  std::size_t records = 0;
  const std::string json = RepeatedRecordPage("{}", &records);
  const Measured measured = Measure("empty records {},{},...", json);
  EXPECT_EQ(measured.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(measured.status.message(),
              HasSubstr(absl::StrCat("items: more than ", MaxPageRecords(json.size()), " records")));
  ExpectBounded(measured, json.size());
}

TEST(PageMemoryTest, SmallestRecordsAPageMayHold) {
  // Records of kMinPageBytesPerRecord bytes (their comma included), dense with structural characters.
  const std::string head = R"({"resourceId":"r","x":)";
  const std::string record = head + Zeros(kMinPageBytesPerRecord - head.size() - 2) + "}";
  ASSERT_EQ(record.size() + 1, kMinPageBytesPerRecord);
  std::size_t records = 0;
  const std::string json = RepeatedRecordPage(record, &records);
  const Measured measured = Measure("records of 64 bytes", json);
  EXPECT_TRUE(measured.status.ok()) << measured.status;
  EXPECT_EQ(measured.records, records);
  ExpectBounded(measured, json.size());
}

TEST(PageMemoryTest, ConcurrentPagesCostEachTheirOwn) {
  // Three streams translating a 32 MiB page each at once: each thread has its own buffers.
  constexpr int kPages = 3;
  std::vector<std::string> jsons;
  std::size_t total = 0;
  for (int i = 0; i < kPages; ++i) {
    const std::string head = R"({"totalCount":0,"items":[],"attributes":)";
    jsons.push_back(head + Zeros(kPageBytes / 2 - head.size() - 1) + "}");
    total += jsons.back().size();
  }
  std::vector<absl::Status> statuses(kPages);
  const std::size_t growth = PeakGrowth([&] {
    std::vector<std::thread> threads;
    threads.reserve(kPages);
    for (int i = 0; i < kPages; ++i) {
      threads.emplace_back([&, i] {
        std::size_t records = 0;
        statuses[i] = TranslateAsServed(jsons[i], &records);
      });
    }
    for (std::thread& thread : threads) thread.join();
  });
  std::printf("3 concurrent pages: %.1f MiB in all; peak RSS +%.1f MiB (%.2fx the pages)\n",
              static_cast<double>(total) / kMiB, static_cast<double>(growth) / kMiB,
              static_cast<double>(growth) / static_cast<double>(total));
  for (const absl::Status& status : statuses) EXPECT_TRUE(status.ok()) << status;
  EXPECT_LE(static_cast<double>(growth), kMaxGrowthFactor * static_cast<double>(total));
}

}  // namespace
}  // namespace pcusage::partner_center
