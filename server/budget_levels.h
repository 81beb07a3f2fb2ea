// Budget watch, the pure part: which customers are at or above which thresholds in one poll (the level), and what
// changed between two polls (the edges). No I/O, no clock, no gRPC: WatchBudgets (watch_budgets_service.h) polls the
// shared snapshots and hands each poll's records here. Every comparison is exact (ExactDecimal): a percent_used of
// 79.99999999999999999999 is below a threshold of 80, 80.0 is at it.
#ifndef PCUSAGE_SERVER_BUDGET_LEVELS_H_
#define PCUSAGE_SERVER_BUDGET_LEVELS_H_

#include <cstddef>
#include <optional>
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

// What a watch keeps of one poll until the next: for each customer that passed its filters, in listed order, how
// many thresholds it reached, its percent_used, and its whole record only when it reached one (KIND_GONE sends it).
// So between polls a watch holds whole records only of customers at or above a threshold. Customers are told apart
// by resource id, in any case.
class PollState {
 public:
  struct Customer {
    std::size_t reached = 0;
    std::optional<google::type::Decimal> percent_used;
    std::optional<partnercenter::usage::v1::CustomerMonthlyUsageRecord> record;  // when reached > 0
  };

  std::size_t size() const { return customers_.size(); }
  // The customer, or null when it was not listed.
  const Customer* Find(const std::string& resource_id) const;

 private:
  friend class PollBuilder;
  std::vector<Customer> customers_;
  absl::flat_hash_map<std::string, std::size_t> index_;  // lower-case resource id -> customers_ index
};

// Builds one poll's state record by record, in Partner Center's order, with the events it makes against the poll
// before, as the records arrive: a poll holds the records of its events, not the whole list.
// - The first poll (no state before): the level, a KIND_LEVEL event for every threshold each customer reaches,
//   customers in listed order, thresholds ascending.
// - Later polls: the edges. For each customer listed now, in listed order: KIND_CROSSED_UP for each threshold it
//   reaches now and did not before (ascending; not listed before counts as reaching none), then KIND_CROSSED_DOWN for
//   each it reached before and does not now (descending). Then (Finish), for each customer listed before and not now,
//   in its old order: KIND_GONE for each threshold it reached (descending), with its last record. Nothing for a
//   customer whose thresholds reached did not change, whatever else changed in its record.
// previous_percent_used is the customer's percent_used in the state before, when it was listed with one.
class PollBuilder {
 public:
  // `before` is the previous poll's state, null for the first poll; it and `thresholds` must outlive this.
  PollBuilder(const Thresholds& thresholds, const PollState* before);

  // The next listed record. Of a resource id listed twice, the first record counts.
  void Add(partnercenter::usage::v1::CustomerMonthlyUsageRecord record);

  // The events so far.
  const std::vector<partnercenter::usage::v1::BudgetEvent>& events() const { return events_; }

  // Adds the KIND_GONE events and gives the poll's state. Call once, last.
  PollState Finish();

 private:
  const Thresholds& thresholds_;
  const PollState* before_;
  PollState now_;
  std::vector<partnercenter::usage::v1::BudgetEvent> events_;
};

// The level of a poll that listed `now` (PollBuilder without a state before).
std::vector<partnercenter::usage::v1::BudgetEvent> Level(
    const Thresholds& thresholds, const std::vector<partnercenter::usage::v1::CustomerMonthlyUsageRecord>& now);

// The edges from a poll that listed `before` to one that listed `now`.
std::vector<partnercenter::usage::v1::BudgetEvent> Edges(
    const Thresholds& thresholds, const std::vector<partnercenter::usage::v1::CustomerMonthlyUsageRecord>& before,
    const std::vector<partnercenter::usage::v1::CustomerMonthlyUsageRecord>& now);

}  // namespace pcusage::budget_watch

#endif  // PCUSAGE_SERVER_BUDGET_LEVELS_H_
