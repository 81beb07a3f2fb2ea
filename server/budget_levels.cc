#include "server/budget_levels.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/common/exact_decimal.h"
#include "server/common/printable.h"

namespace pcusage::budget_watch {
namespace {

namespace v1 = ::partnercenter::usage::v1;

constexpr const char* kDefaultThresholds[] = {"80", "100"};

// Thresholds are checked when they are made, so their text always parses.
ExactDecimal ParsedThreshold(const std::string& text) { return *ExactDecimal::Parse(text); }

v1::BudgetEvent Event(v1::BudgetEvent::Kind kind, const std::string& threshold,
                      const v1::CustomerMonthlyUsageRecord& record,
                      const google::type::Decimal* previous_percent_used) {
  v1::BudgetEvent event;
  event.set_kind(kind);
  event.mutable_threshold()->set_value(threshold);
  *event.mutable_record() = record;
  if (previous_percent_used != nullptr) *event.mutable_previous_percent_used() = *previous_percent_used;
  return event;
}

}  // namespace

absl::StatusOr<Thresholds> Thresholds::FromRequest(
    const google::protobuf::RepeatedPtrField<google::type::Decimal>& given) {
  if (given.size() > kMaxThresholds) {
    return InvalidFieldError("thresholds", absl::StrCat("thresholds has ", given.size(), " entries; at most ",
                                                        kMaxThresholds, " are accepted"));
  }
  std::vector<std::string> texts;
  if (given.empty()) texts.assign(std::begin(kDefaultThresholds), std::end(kDefaultThresholds));
  for (int i = 0; i < given.size(); ++i) {
    const absl::StatusOr<ExactDecimal> value = ExactDecimal::Parse(given.Get(i).value());
    if (!value.ok()) {
      const std::string field = absl::StrCat("thresholds[", i, "]");
      return InvalidFieldError(field,
                               absl::StrCat(field, " must be a decimal number of percent such as 80 or 99.5 (got \"",
                                            Printable(given.Get(i).value(), 64), "\")"));
    }
    texts.push_back(given.Get(i).value());
  }
  // Stable, so that of equal values the first given stays first and is the one kept.
  std::stable_sort(texts.begin(), texts.end(),
                   [](const std::string& a, const std::string& b) { return ParsedThreshold(a) < ParsedThreshold(b); });
  texts.erase(
      std::unique(texts.begin(), texts.end(),
                  [](const std::string& a, const std::string& b) { return ParsedThreshold(a) == ParsedThreshold(b); }),
      texts.end());
  return Thresholds(std::move(texts));
}

std::size_t Thresholds::Reached(const v1::CustomerMonthlyUsageRecord& record) const {
  if (!record.has_percent_used()) return 0;
  const absl::StatusOr<ExactDecimal> percent_used = ExactDecimal::Parse(record.percent_used().value());
  if (!percent_used.ok()) return 0;
  std::size_t reached = 0;
  while (reached < texts_.size() && ParsedThreshold(texts_[reached]) <= *percent_used) ++reached;
  return reached;
}

const PollState::Customer* PollState::Find(const std::string& resource_id) const {
  const auto it = index_.find(absl::AsciiStrToLower(resource_id));
  return it == index_.end() ? nullptr : &customers_[it->second];
}

PollBuilder::PollBuilder(const Thresholds& thresholds, const PollState* before)
    : thresholds_(thresholds), before_(before) {}

void PollBuilder::Add(v1::CustomerMonthlyUsageRecord record) {
  std::string key = absl::AsciiStrToLower(record.resource_id());
  if (now_.index_.contains(key)) return;
  PollState::Customer customer;
  customer.reached = thresholds_.Reached(record);
  if (record.has_percent_used()) customer.percent_used = record.percent_used();
  const PollState::Customer* previous = before_ == nullptr ? nullptr : before_->Find(key);
  const std::size_t was = previous == nullptr ? 0 : previous->reached;
  const google::type::Decimal* previous_percent =
      previous != nullptr && previous->percent_used.has_value() ? &*previous->percent_used : nullptr;
  if (before_ == nullptr) {
    for (std::size_t i = 0; i < customer.reached; ++i) {
      events_.push_back(Event(v1::BudgetEvent::KIND_LEVEL, thresholds_.text(i), record, nullptr));
    }
  } else {
    for (std::size_t i = was; i < customer.reached; ++i) {
      events_.push_back(Event(v1::BudgetEvent::KIND_CROSSED_UP, thresholds_.text(i), record, previous_percent));
    }
    for (std::size_t i = was; i > customer.reached; --i) {
      events_.push_back(Event(v1::BudgetEvent::KIND_CROSSED_DOWN, thresholds_.text(i - 1), record, previous_percent));
    }
  }
  if (customer.reached > 0) customer.record = std::move(record);
  now_.index_.emplace(std::move(key), now_.customers_.size());
  now_.customers_.push_back(std::move(customer));
}

PollState PollBuilder::Finish() {
  if (before_ != nullptr) {
    std::vector<std::pair<std::size_t, const std::string*>> gone;
    for (const auto& [key, index] : before_->index_) {
      if (!now_.index_.contains(key)) gone.emplace_back(index, &key);
    }
    std::sort(gone.begin(), gone.end());  // their old order
    for (const auto& [index, key] : gone) {
      const PollState::Customer& customer = before_->customers_[index];
      const google::type::Decimal* last_percent = customer.percent_used.has_value() ? &*customer.percent_used : nullptr;
      for (std::size_t i = customer.reached; i > 0; --i) {
        events_.push_back(Event(v1::BudgetEvent::KIND_GONE, thresholds_.text(i - 1), *customer.record, last_percent));
      }
    }
  }
  return std::move(now_);
}

std::vector<v1::BudgetEvent> Level(const Thresholds& thresholds,
                                   const std::vector<v1::CustomerMonthlyUsageRecord>& now) {
  PollBuilder builder(thresholds, nullptr);
  for (const v1::CustomerMonthlyUsageRecord& record : now) builder.Add(record);
  builder.Finish();
  return builder.events();
}

std::vector<v1::BudgetEvent> Edges(const Thresholds& thresholds,
                                   const std::vector<v1::CustomerMonthlyUsageRecord>& before,
                                   const std::vector<v1::CustomerMonthlyUsageRecord>& now) {
  PollBuilder first(thresholds, nullptr);
  for (const v1::CustomerMonthlyUsageRecord& record : before) first.Add(record);
  const PollState state = first.Finish();
  PollBuilder second(thresholds, &state);
  for (const v1::CustomerMonthlyUsageRecord& record : now) second.Add(record);
  second.Finish();
  return second.events();
}

}  // namespace pcusage::budget_watch
