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

absl::Status InvalidField(absl::string_view field, absl::string_view problem) {
  return WithFieldViolation(
      WithErrorInfo(absl::InvalidArgumentError(problem), reason::kInvalidArgument, {{"field", std::string(field)}}),
      field, problem);
}

// Thresholds are checked when they are made, so their text always parses.
ExactDecimal ParsedThreshold(const std::string& text) { return *ExactDecimal::Parse(text); }

v1::BudgetEvent Event(v1::BudgetEvent::Kind kind, const std::string& threshold,
                      const v1::CustomerMonthlyUsageRecord& record, const v1::CustomerMonthlyUsageRecord* previous) {
  v1::BudgetEvent event;
  event.set_kind(kind);
  event.mutable_threshold()->set_value(threshold);
  *event.mutable_record() = record;
  if (previous != nullptr && previous->has_percent_used()) {
    *event.mutable_previous_percent_used() = previous->percent_used();
  }
  return event;
}

}  // namespace

absl::StatusOr<Thresholds> Thresholds::FromRequest(
    const google::protobuf::RepeatedPtrField<google::type::Decimal>& given) {
  if (given.size() > kMaxThresholds) {
    return InvalidField("thresholds", absl::StrCat("thresholds has ", given.size(), " entries; at most ",
                                                   kMaxThresholds, " are accepted"));
  }
  std::vector<std::string> texts;
  if (given.empty()) texts.assign(std::begin(kDefaultThresholds), std::end(kDefaultThresholds));
  for (int i = 0; i < given.size(); ++i) {
    const absl::StatusOr<ExactDecimal> value = ExactDecimal::Parse(given.Get(i).value());
    if (!value.ok()) {
      const std::string field = absl::StrCat("thresholds[", i, "]");
      return InvalidField(field, absl::StrCat(field, " must be a decimal number of percent such as 80 or 99.5 (got \"",
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

void PollState::Add(v1::CustomerMonthlyUsageRecord record) {
  const auto [it, added] = index_.try_emplace(absl::AsciiStrToLower(record.resource_id()), records_.size());
  if (added) records_.push_back(std::move(record));
}

const v1::CustomerMonthlyUsageRecord* PollState::Find(const std::string& resource_id) const {
  const auto it = index_.find(absl::AsciiStrToLower(resource_id));
  return it == index_.end() ? nullptr : &records_[it->second];
}

std::vector<v1::BudgetEvent> Level(const Thresholds& thresholds, const PollState& now) {
  std::vector<v1::BudgetEvent> events;
  for (const v1::CustomerMonthlyUsageRecord& record : now.records()) {
    const std::size_t reached = thresholds.Reached(record);
    for (std::size_t i = 0; i < reached; ++i) {
      events.push_back(Event(v1::BudgetEvent::KIND_LEVEL, thresholds.text(i), record, nullptr));
    }
  }
  return events;
}

std::vector<v1::BudgetEvent> Edges(const Thresholds& thresholds, const PollState& before, const PollState& now) {
  std::vector<v1::BudgetEvent> events;
  for (const v1::CustomerMonthlyUsageRecord& record : now.records()) {
    const v1::CustomerMonthlyUsageRecord* previous = before.Find(record.resource_id());
    const std::size_t was = previous == nullptr ? 0 : thresholds.Reached(*previous);
    const std::size_t is = thresholds.Reached(record);
    for (std::size_t i = was; i < is; ++i) {
      events.push_back(Event(v1::BudgetEvent::KIND_CROSSED_UP, thresholds.text(i), record, previous));
    }
    for (std::size_t i = was; i > is; --i) {
      events.push_back(Event(v1::BudgetEvent::KIND_CROSSED_DOWN, thresholds.text(i - 1), record, previous));
    }
  }
  for (const v1::CustomerMonthlyUsageRecord& record : before.records()) {
    if (now.Find(record.resource_id()) != nullptr) continue;
    for (std::size_t i = thresholds.Reached(record); i > 0; --i) {
      events.push_back(Event(v1::BudgetEvent::KIND_GONE, thresholds.text(i - 1), record, &record));
    }
  }
  return events;
}

}  // namespace pcusage::budget_watch
