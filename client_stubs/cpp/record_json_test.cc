// The field-by-field JSON writer against protobuf's own printer: the same bytes for every code point, every
// timestamp form and random records.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "client_stubs/cpp/record_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::google::protobuf::util::TimeUtil;

std::string ProtobufJson(const v1::CustomerMonthlyUsageRecord& record) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(record, &json, options).ok()) return "";
  return json;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

v1::CustomerMonthlyUsageRecord RecordNamed(const std::string& name) {
  v1::CustomerMonthlyUsageRecord record;
  record.set_name(name);
  return record;
}

TEST(RecordJsonTest, EscapesEveryCodePointAsProtobufDoes) {
  constexpr char32_t kBlock = 0x1000;
  for (char32_t first = 0; first <= 0x10FFFF; first += kBlock) {
    std::string text;
    for (char32_t c = first; c < first + kBlock; ++c) {
      if (c < 0xD800 || c > 0xDFFF) AppendUtf8(c, &text);
    }
    const v1::CustomerMonthlyUsageRecord record = RecordNamed(text);
    if (RecordToJsonLine(record) == ProtobufJson(record)) continue;
    for (char32_t c = first; c < first + kBlock; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      std::string one = "a";
      AppendUtf8(c, &one);
      one += "z";
      const v1::CustomerMonthlyUsageRecord single = RecordNamed(one);
      EXPECT_EQ(RecordToJsonLine(single), ProtobufJson(single)) << "U+" << std::hex << static_cast<uint32_t>(c);
    }
  }
}

TEST(RecordJsonTest, WritesTimestampsAsProtobufDoes) {
  const std::vector<int64_t> seconds = {TimeUtil::kTimestampMinSeconds,
                                        TimeUtil::kTimestampMinSeconds + 86399,
                                        -62135596800 + int64_t{86400} * 59,  // 0001-03-01
                                        -2208988800,                         // 1900-01-01
                                        -1,
                                        0,
                                        951782400,   // 2000-02-29
                                        1709164800,  // 2024-02-29
                                        4107542399,  // 2100-02-28T23:59:59
                                        TimeUtil::kTimestampMaxSeconds};
  const std::vector<int32_t> nanos = {0, 1, 10, 999999999, 500000000, 120000, 7000, 100000000};
  for (int64_t second : seconds) {
    for (int32_t nano : nanos) {
      v1::CustomerMonthlyUsageRecord record;
      record.mutable_last_modified_time()->set_seconds(second);
      record.mutable_last_modified_time()->set_nanos(nano);
      EXPECT_EQ(RecordToJsonLine(record), ProtobufJson(record)) << second << "s " << nano << "ns";
    }
  }
}

TEST(RecordJsonTest, FailsWithoutWritingWhenProtobufCannotPrint) {
  v1::CustomerMonthlyUsageRecord record;
  record.set_id("kept out");
  record.mutable_last_modified_time()->set_seconds(TimeUtil::kTimestampMaxSeconds + 1);
  std::string out = "before";
  EXPECT_FALSE(AppendRecordJsonLine(record, &out));
  EXPECT_EQ(out, "before");
  record.mutable_last_modified_time()->set_seconds(0);
  record.mutable_last_modified_time()->set_nanos(-1);
  EXPECT_FALSE(AppendRecordJsonLine(record, &out));
  EXPECT_EQ(out, "before");
}

TEST(RecordJsonTest, AppendsAfterWhatIsThere) {
  std::string out = "{}\n";
  ASSERT_TRUE(AppendRecordJsonLine(RecordNamed("Contoso"), &out));
  EXPECT_EQ(out, "{}\n{\"name\":\"Contoso\"}");
}

TEST(RecordJsonTest, LeavesTextThatIsNotUtf8ToProtobuf) {
  for (const std::string& name : {std::string("\xFF"), std::string("a\xC3"), std::string("\xED\xA0\x80"),
                                  std::string("\xC0\xAF"), std::string("\xF4\x90\x80\x80")}) {
    const v1::CustomerMonthlyUsageRecord record = RecordNamed(name);
    EXPECT_EQ(RecordToJsonLine(record), ProtobufJson(record));
  }
}

// Random records: each field set or not, strings with characters that need escaping, every timestamp form.
class RandomRecords {
 public:
  explicit RandomRecords(uint32_t seed) : random_(seed) {}

  v1::CustomerMonthlyUsageRecord Next() {
    v1::CustomerMonthlyUsageRecord record;
    MaybeSet([&] { record.set_id(Text()); });
    MaybeSet([&] { record.set_name(Text()); });
    MaybeSet([&] { record.set_resource_id(Text()); });
    MaybeSet([&] { record.set_resource_name(Text()); });
    MaybeSet([&] { FillBudget(record.mutable_budget()); });
    MaybeSet([&] { FillBudget(record.mutable_customer_spending_budget()); });
    MaybeSet([&] { FillBudget(record.mutable_usage_spending_budget()); });
    MaybeSet([&] { FillDecimal(record.mutable_percent_used()); });
    MaybeSet([&] { FillDecimal(record.mutable_total_cost()); });
    MaybeSet([&] { FillDecimal(record.mutable_usd_total_cost()); });
    MaybeSet([&] { record.set_currency_locale(Text()); });
    MaybeSet([&] { record.set_currency_code(Text()); });
    MaybeSet([&] { record.set_currency_symbol(Text()); });
    MaybeSet([&] { record.set_is_upgraded(Pick(2) == 1); });
    MaybeSet([&] { FillTimestamp(record.mutable_last_modified_time()); });
    MaybeSet([&] { record.set_object_type(Text()); });
    return record;
  }

 private:
  uint32_t Pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(random_); }

  template <typename Set>
  void MaybeSet(Set set) {
    if (Pick(4) != 0) set();
  }

  std::string Text() {
    static const std::vector<std::string> kPieces = {"",
                                                     "Contoso",
                                                     "a\"b",
                                                     "back\\slash",
                                                     "<tag>",
                                                     "tab\there",
                                                     "\n",
                                                     "\x01",
                                                     "\x7F",
                                                     "é",
                                                     "€",
                                                     "\xE2\x80\xA8",
                                                     "日本",
                                                     "🙂",
                                                     "\xC2\xAD",
                                                     "\xF3\xA0\x80\x81",
                                                     "120.5682999999995904716"};
    std::string text;
    for (uint32_t i = Pick(4); i > 0; --i) text += kPieces[Pick(kPieces.size())];
    return text;
  }

  void FillDecimal(google::type::Decimal* decimal) {
    if (Pick(5) != 0) decimal->set_value(Pick(2) == 0 ? "120.5682999999995904716" : Text());
  }

  void FillBudget(v1::SpendingBudget* budget) {
    if (Pick(2) == 0) FillDecimal(budget->mutable_amount());
    if (Pick(2) == 0) budget->set_object_type(Text());
  }

  void FillTimestamp(google::protobuf::Timestamp* time) {
    time->set_seconds(std::uniform_int_distribution<int64_t>(TimeUtil::kTimestampMinSeconds,
                                                             TimeUtil::kTimestampMaxSeconds)(random_));
    static const std::vector<int32_t> kUnits = {0, 1000000, 1000, 1};
    const int32_t unit = kUnits[Pick(kUnits.size())];
    if (unit != 0) time->set_nanos(static_cast<int32_t>(Pick(1000000000 / unit)) * unit);
  }

  std::mt19937 random_;
};

TEST(RecordJsonTest, WritesRandomRecordsAsProtobufDoes) {
  RandomRecords records(20261206);
  for (int i = 0; i < 5000; ++i) {
    const v1::CustomerMonthlyUsageRecord record = records.Next();
    const std::string expected = ProtobufJson(record);
    ASSERT_FALSE(expected.empty());
    ASSERT_EQ(RecordToJsonLine(record), expected) << record.ShortDebugString();
  }
}

}  // namespace
}  // namespace pcusage::client
