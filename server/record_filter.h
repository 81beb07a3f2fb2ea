// Which records a ListUsageRecords call asked for: the request's filter fields (customer_ids, currency_codes,
// min_percent_used, only_with_budget), checked once, and the predicate applied to each translated record. Pure; it
// sees a record only through the few facts the filter needs (partner_center/record_facts.h).
#ifndef PCUSAGE_SERVER_RECORD_FILTER_H_
#define PCUSAGE_SERVER_RECORD_FILTER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "partnercenter/usage/v1/usage_records.pb.h"
#include "server/common/exact_decimal.h"
#include "server/partner_center/record_facts.h"

namespace pcusage {

// The most entries customer_ids and currency_codes each take.
inline constexpr int kMaxFilterValues = 10000;

class RecordFilter {
 public:
  // The request's filters, or nullopt when it sets none (every record is sent). INVALID_ARGUMENT, with an ErrorInfo
  // and a BadRequest field violation naming the field (an entry of a list by its index, `customer_ids[2]`), for a
  // customer id that is not a GUID, a currency code that is not three ASCII letters, a list of more than
  // kMaxFilterValues entries, or a min_percent_used that is not a google.type.Decimal.
  static absl::StatusOr<std::optional<RecordFilter>> FromRequest(
      const partnercenter::usage::v1::ListUsageRecordsRequest& request);

  // Whether a record passes every filter set: its resource id among customer_ids (any case), its currency code among
  // currency_codes (any case), its percent_used at least min_percent_used (exactly), its budget with an amount.
  bool Passes(const partner_center::RecordFacts& record) const;

 private:
  RecordFilter() = default;

  absl::flat_hash_set<std::string> customer_ids_;    // lower case; empty: any
  absl::flat_hash_set<std::string> currency_codes_;  // upper case; empty: any
  // min_percent_used's text (held where moves do not touch it) and its value, which points into it.
  std::shared_ptr<const std::string> min_percent_used_text_;
  std::optional<ExactDecimal> min_percent_used_;
  bool only_with_budget_ = false;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_RECORD_FILTER_H_
