#include "client_stubs/cpp/budget_event_format.h"

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client_stubs/cpp/rfc3339.h"
#include "client_stubs/cpp/utf8.h"
#include "google/protobuf/util/json_util.h"

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;

// The widest kind, CROSSED_DOWN, and a threshold of up to three digits with its "%".
constexpr std::size_t kKindWidth = 12;
constexpr std::size_t kThresholdWidth = 4;

void AppendPadded(absl::string_view text, std::size_t width, bool right_aligned, std::string* out) {
  const std::string padding(text.size() < width ? width - text.size() : 0, ' ');
  if (right_aligned) out->append(padding);
  out->append(text.data(), text.size());
  if (!right_aligned) out->append(padding);
}

void AppendTimestamp(const google::protobuf::Timestamp& time, std::string* out) {
  if (!AppendRfc3339(time, out)) out->append("invalid");
}

// A decimal's text with "%", made printable; "-" when absent.
void AppendPercent(bool has, const google::type::Decimal& decimal, std::string* out) {
  if (!has) {
    out->append("-");
    return;
  }
  AppendPrintable(decimal.value(), out);
  out->append("%");
}

std::string KindName(v1::BudgetEvent::Kind kind) {
  absl::string_view name = v1::BudgetEvent::Kind_Name(kind);
  if (name.empty()) return absl::StrCat("KIND_", static_cast<int>(kind));
  absl::ConsumePrefix(&name, "KIND_");
  return std::string(name);
}

void AppendBudgetEvent(const v1::WatchBudgetsResponse& response, std::string* out) {
  const v1::BudgetEvent& event = response.budget_event();
  const v1::CustomerMonthlyUsageRecord& record = event.record();
  AppendPadded(KindName(event.kind()), kKindWidth, false, out);
  std::string threshold;
  AppendPrintable(event.threshold().value(), &threshold);
  out->append("  ");
  AppendPadded(absl::StrCat(threshold, "%"), kThresholdWidth, true, out);
  out->append("  ");
  AppendPrintable(record.resource_id().empty() ? "-" : record.resource_id(), out);
  out->append("  used ");
  AppendPercent(record.has_percent_used(), record.percent_used(), out);
  if (event.kind() != v1::BudgetEvent::KIND_LEVEL) {
    out->append(" (was ");
    AppendPercent(event.has_previous_percent_used(), event.previous_percent_used(), out);
    out->append(")");
  }
  out->append("  snapshot ");
  if (response.has_snapshot_time()) {
    AppendTimestamp(response.snapshot_time(), out);
  } else {
    out->append("-");
  }
  out->append("  ");
  AppendPrintable(record.name().empty() ? "-" : record.name(), out);
}

void AppendPollFailed(const v1::PollFailed& failed, std::string* out) {
  AppendPadded("POLL_FAILED", kKindWidth, false, out);
  out->append("  ");
  const std::string code = absl::StatusCodeToString(static_cast<absl::StatusCode>(failed.code()));
  out->append(code.empty() ? absl::StrCat("CODE_", failed.code()) : code);
  if (!failed.reason().empty()) {
    out->append(" ");
    AppendPrintable(failed.reason(), out);
  }
  out->append(": ");
  AppendPrintable(failed.message(), out);
  absl::StrAppend(out, " (", failed.failures_in_a_row(), " in a row; next poll in ");
  if (failed.has_retry_in()) {
    out->append(absl::FormatDuration(absl::Seconds(failed.retry_in().seconds()) +
                                     absl::Nanoseconds(failed.retry_in().nanos())));
  } else {
    out->append("-");
  }
  out->append(")");
}

}  // namespace

bool AppendWatchResponseJsonLine(const v1::WatchBudgetsResponse& response, std::string* out) {
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(response, &json).ok()) return false;
  absl::StrAppend(out, json, "\n");
  return true;
}

void AppendWatchEventLine(const v1::WatchBudgetsResponse& response, absl::Time received, std::string* out) {
  absl::StrAppend(out, absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", received, absl::UTCTimeZone()), "  ");
  switch (response.event_case()) {
    case v1::WatchBudgetsResponse::kBudgetEvent:
      AppendBudgetEvent(response, out);
      break;
    case v1::WatchBudgetsResponse::kInitialStateComplete:
      AppendPadded("COMPLETE", kKindWidth, false, out);
      absl::StrAppend(out, "  initial state complete, ", response.initial_state_complete().matching_customers(),
                      " matching customers");
      break;
    case v1::WatchBudgetsResponse::kPollFailed:
      AppendPollFailed(response.poll_failed(), out);
      break;
    case v1::WatchBudgetsResponse::EVENT_NOT_SET:
      out->append("UNKNOWN");
      break;
  }
  out->append("\n");
}

}  // namespace pcusage::client
