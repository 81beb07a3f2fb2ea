// The few fields of a translated record that a filter looks at, read from its protobuf wire bytes as the translator
// wrote them (PageRecords), without building the message: a pass over the record's tags that skips everything else.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_RECORD_FACTS_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_RECORD_FACTS_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pcusage::partner_center {

// Views into the record's bytes, valid while they are. Empty strings stand for absent ones, as in the proto.
struct RecordFacts {
  absl::string_view resource_id;
  absl::string_view currency_code;
  // percent_used's google.type.Decimal value, when percent_used is set.
  std::optional<absl::string_view> percent_used;
  // Whether `budget` is set and has an amount (a budget without one is "no budget set").
  bool budget_has_amount = false;
};

// Reads the facts of one `usage_records` entry of a ListUsageRecordsResponse (its tag, length and
// CustomerMonthlyUsageRecord), as PageRecords::Entries(i, i + 1) gives it. Of a field sent twice the last counts,
// as protobuf decides. INTERNAL when the bytes are no such entry (never for bytes the translator wrote).
absl::StatusOr<RecordFacts> ReadRecordFacts(absl::string_view entry);

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_RECORD_FACTS_H_
