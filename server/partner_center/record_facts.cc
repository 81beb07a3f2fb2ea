#include "server/partner_center/record_facts.h"

#include <cstdint>

#include "absl/status/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "partnercenter/usage/v1/usage_records.pb.h"

namespace pcusage::partner_center {
namespace {

using ::google::protobuf::internal::WireFormatLite;
using Input = ::google::protobuf::io::CodedInputStream;
namespace v1 = ::partnercenter::usage::v1;

// Reads a length-delimited value as a view into the input's bytes.
bool ReadView(Input& in, absl::string_view* out) {
  uint32_t length = 0;
  if (!in.ReadVarint32(&length)) return false;
  if (length == 0) {
    *out = {};
    return true;
  }
  const void* data = nullptr;
  int available = 0;
  if (!in.GetDirectBufferPointer(&data, &available) || static_cast<uint32_t>(available) < length) return false;
  *out = absl::string_view(static_cast<const char*>(data), length);
  return in.Skip(static_cast<int>(length));
}

bool IsLengthDelimited(uint32_t tag) {
  return WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
}

// Calls `on_field(number, bytes)` for each length-delimited field of the message `bytes`, skipping the others.
template <typename OnField>
bool ForEachLengthDelimited(absl::string_view bytes, OnField&& on_field) {
  Input in(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  while (const uint32_t tag = in.ReadTag()) {
    if (!IsLengthDelimited(tag)) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    absl::string_view value;
    if (!ReadView(in, &value)) return false;
    on_field(WireFormatLite::GetTagFieldNumber(tag), value);
  }
  return in.ConsumedEntireMessage();
}

// google.type.Decimal's value.
bool ReadDecimalValue(absl::string_view decimal, absl::string_view* value) {
  *value = {};
  return ForEachLengthDelimited(decimal, [value](int number, absl::string_view bytes) {
    if (number == 1) *value = bytes;
  });
}

}  // namespace

absl::StatusOr<RecordFacts> ReadRecordFacts(absl::string_view entry) {
  const absl::Status not_an_entry = absl::InternalError("a translated record's bytes are not a usage_records entry");
  absl::string_view record;
  int entries = 0;
  if (!ForEachLengthDelimited(entry,
                              [&](int number, absl::string_view bytes) {
                                if (number == v1::ListUsageRecordsResponse::kUsageRecordsFieldNumber) {
                                  record = bytes;
                                  ++entries;
                                }
                              }) ||
      entries != 1) {
    return not_an_entry;
  }
  RecordFacts facts;
  bool readable = true;
  const bool parsed = ForEachLengthDelimited(record, [&](int number, absl::string_view bytes) {
    switch (number) {
      case v1::CustomerMonthlyUsageRecord::kResourceIdFieldNumber:
        facts.resource_id = bytes;
        break;
      case v1::CustomerMonthlyUsageRecord::kCurrencyCodeFieldNumber:
        facts.currency_code = bytes;
        break;
      case v1::CustomerMonthlyUsageRecord::kPercentUsedFieldNumber: {
        absl::string_view value;
        readable = ReadDecimalValue(bytes, &value) && readable;
        facts.percent_used = value;
        break;
      }
      case v1::CustomerMonthlyUsageRecord::kBudgetFieldNumber:
        // A message sent twice is merged: an amount in either counts.
        readable = ForEachLengthDelimited(bytes,
                                          [&facts](int budget_number, absl::string_view /*amount*/) {
                                            if (budget_number == v1::SpendingBudget::kAmountFieldNumber) {
                                              facts.budget_has_amount = true;
                                            }
                                          }) &&
                   readable;
        break;
      default:
        break;
    }
  });
  if (!parsed || !readable) return not_an_entry;
  return facts;
}

}  // namespace pcusage::partner_center
