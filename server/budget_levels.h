// Budget watch, the pure part: which customers are at or above which thresholds in one poll (the level), and what
// changed between two polls (the edges). No I/O, no clock, no gRPC: WatchBudgets (watch_budgets_service.h) polls the
// shared snapshots and hands each poll's records here. Every comparison is exact (ExactDecimal): a percent_used of
// 79.99999999999999999999 is below a threshold of 80, 80.0 is at it.
#ifndef PCUSAGE_SERVER_BUDGET_LEVELS_H_
#define PCUSAGE_SERVER_BUDGET_LEVELS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/type/decimal.pb.h"
#include "partnercenter/usage/v1/usage_records.pb.h"

namespace pcusage::budget_watch {

// The most thresholds one watch may ask for.
inline constexpr int kMaxThresholds = 16;

// A watch's thresholds, ascending by value; equal values (80 and 80.0) count once, spelled as first given.
class Thresholds {
 public:
  // The request's thresholds, or 80 and 100 when it gives none. INVALID_ARGUMENT with an ErrorInfo and a BadRequest
  // field violation (`thresholds[i]`, or `thresholds` for too many) for a value that is not a google.type.Decimal.
  static absl::StatusOr<Thresholds> FromRequest(const google::protobuf::RepeatedPtrField<google::type::Decimal>& given);

  std::size_t size() const { return texts_.size(); }
  const std::string& text(std::size_t i) const { return texts_[i]; }

  // How many thresholds `percent_used` reaches (is at or above): they are ascending, so these are the first ones.
  // Zero for a record without percent_used, and for text that is no decimal (the translator never writes such).
  std::size_t Reached(const partnercenter::usage::v1::CustomerMonthlyUsageRecord& record) const;

 private:
  explicit Thresholds(std::vector<std::string> texts) : texts_(std::move(texts)) {}
  std::vector<std::string> texts_;
};

// The records of one poll that pass the watch's filters, in Partner Center's order, each customer once (of a
// resource id listed twice, the first record counts). Customers are told apart by resource id, in any case.
class PollState {
 public:
  void Add(partnercenter::usage::v1::CustomerMonthlyUsageRecord record);

  const std::vector<partnercenter::usage::v1::CustomerMonthlyUsageRecord>& records() const { return records_; }
  // The customer's record, or null when it is not listed.
  const partnercenter::usage::v1::CustomerMonthlyUsageRecord* Find(const std::string& resource_id) const;

 private:
  std::vector<partnercenter::usage::v1::CustomerMonthlyUsageRecord> records_;
  absl::flat_hash_map<std::string, std::size_t> index_;  // lower-case resource id -> records_ index
};

// The level: a KIND_LEVEL event for every customer and every threshold it reaches, customers in listed order,
// thresholds ascending.
std::vector<partnercenter::usage::v1::BudgetEvent> Level(const Thresholds& thresholds, const PollState& now);

// The edges from `before` to `now`. For each customer listed now, in listed order: KIND_CROSSED_UP for each threshold
// it reaches now and did not before (ascending; not listed before counts as reaching none), then KIND_CROSSED_DOWN
// for each it reached before and does not now (descending). Then, for each customer listed before and not now, in
// its old order: KIND_GONE for each threshold it reached (descending), with its last record. previous_percent_used is
// the customer's percent_used in `before`, when it was listed with one. Nothing for a customer whose thresholds
// reached did not change, whatever else changed in its record.
std::vector<partnercenter::usage::v1::BudgetEvent> Edges(const Thresholds& thresholds, const PollState& before,
                                                         const PollState& now);

}  // namespace pcusage::budget_watch

#endif  // PCUSAGE_SERVER_BUDGET_LEVELS_H_
