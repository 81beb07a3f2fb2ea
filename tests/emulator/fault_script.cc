#include "tests/emulator/fault_script.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace pcusage::emulator {
namespace {

using ::nlohmann::json;

constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
constexpr int64_t kMinInt = std::numeric_limits<int>::min();

struct KindInfo {
  FaultKind kind;
  absl::string_view name;
  // The kind's parameters, space-separated; every rule also has route, page (usage route only), fault and times.
  absl::string_view parameters;
  // Whether the kind applies to the token route too.
  bool token_route;
};

constexpr KindInfo kKinds[] = {
    {FaultKind::kHttpStatus, "http_status", "status retry_after error_code description body", true},
    {FaultKind::kThrottle, "throttle", "retry_after message_seconds", false},
    {FaultKind::kSlowFirstByte, "slow_first_byte", "delay_ms", true},
    {FaultKind::kStallMidBody, "stall_mid_body", "delay_ms", true},
    {FaultKind::kResetMidBody, "reset_mid_body", "", true},
    {FaultKind::kTruncatedJson, "truncated_json", "", true},
    {FaultKind::kInvalidJson, "invalid_json", "", true},
    {FaultKind::kHtml, "html", "", true},
    {FaultKind::kWrongTypes, "wrong_types", "", false},
    {FaultKind::kHugeBody, "huge_body", "bytes", false},
    {FaultKind::kLoopNext, "loop_next", "", false},
    {FaultKind::kSlowBody, "slow_body", "chunk_ms duration_ms", false},
};

const KindInfo* FindKind(absl::string_view name) {
  for (const KindInfo& info : kKinds) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

// Reads the fields of one rule object, naming the rule in every error.
class RuleReader {
 public:
  RuleReader(const json& rule, size_t index) : rule_(rule), index_(index) {}

  absl::Status Error(absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat("fault script rule ", index_, ": ", message));
  }

  // The integer `field`, in [min, max]; `fallback` when the field is absent, an error when it is absent without one.
  absl::StatusOr<int64_t> Integer(const char* field, int64_t min, int64_t max,
                                  std::optional<int64_t> fallback = std::nullopt) const {
    const auto it = rule_.find(field);
    if (it == rule_.end()) {
      if (fallback.has_value()) return *fallback;
      return Error(absl::StrCat("\"", field, "\" is required"));
    }
    bool in_range = false;
    if (it->is_number_unsigned()) {
      const uint64_t value = it->get<uint64_t>();
      in_range = value <= static_cast<uint64_t>(max) && (min <= 0 || value >= static_cast<uint64_t>(min));
    } else if (it->is_number_integer()) {
      const int64_t value = it->get<int64_t>();
      in_range = value >= min && value <= max;
    }
    if (!in_range) {
      return Error(absl::StrCat("\"", field, "\" must be an integer from ", min, " to ", max, ", not ", it->dump()));
    }
    return it->get<int64_t>();
  }

  // The string `field`, if present.
  absl::StatusOr<std::optional<std::string>> String(const char* field) const {
    const auto it = rule_.find(field);
    if (it == rule_.end()) return std::nullopt;
    if (!it->is_string()) {
      return Error(absl::StrCat("\"", field, "\" must be a string, not ", it->dump()));
    }
    return it->get<std::string>();
  }

 private:
  const json& rule_;
  const size_t index_;
};

absl::StatusOr<FaultRule> ParseRule(const json& object, size_t index) {
  const RuleReader reader(object, index);
  if (!object.is_object()) return reader.Error("a rule must be a JSON object");

  absl::StatusOr<std::optional<std::string>> name = reader.String("fault");
  if (!name.ok()) return name.status();
  if (!name->has_value()) return reader.Error("\"fault\" is required");
  const KindInfo* info = FindKind(**name);
  if (info == nullptr) {
    std::vector<absl::string_view> names;
    for (const KindInfo& kind : kKinds) names.push_back(kind.name);
    return reader.Error(absl::StrCat("unknown fault \"", **name, "\"; the faults are ", absl::StrJoin(names, ", ")));
  }

  FaultRule rule;
  rule.kind = info->kind;
  absl::StatusOr<std::optional<std::string>> route = reader.String("route");
  if (!route.ok()) return route.status();
  const std::string route_name = route->value_or("usage");
  if (route_name == "token") {
    rule.route = FaultRoute::kToken;
  } else if (route_name != "usage") {
    return reader.Error(absl::StrCat("\"route\" must be \"usage\" or \"token\", not \"", route_name, "\""));
  }
  if (rule.route == FaultRoute::kToken) {
    if (!info->token_route) {
      std::vector<absl::string_view> names;
      for (const KindInfo& kind : kKinds) {
        if (kind.token_route) names.push_back(kind.name);
      }
      return reader.Error(absl::StrCat("fault \"", info->name, "\" does not apply to the token route; its faults are ",
                                       absl::StrJoin(names, ", ")));
    }
    if (object.contains("page")) return reader.Error("\"page\" is only for the usage route");
  }

  std::vector<absl::string_view> allowed = {"fault", "times"};
  if (rule.route == FaultRoute::kUsage) allowed.insert(allowed.begin(), "page");
  for (absl::string_view parameter : absl::StrSplit(info->parameters, ' ', absl::SkipEmpty())) {
    allowed.push_back(parameter);
  }
  allowed.push_back("route");
  for (const auto& member : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), member.key()) == allowed.end()) {
      return reader.Error(absl::StrCat("unknown field \"", member.key(), "\" for fault \"", info->name,
                                       "\"; its fields are ", absl::StrJoin(allowed, ", ")));
    }
  }

  if (rule.route == FaultRoute::kUsage) {
    absl::StatusOr<int64_t> page = reader.Integer("page", 0, kMaxInt);
    if (!page.ok()) return page.status();
    rule.page = static_cast<int>(*page);
  }
  absl::StatusOr<int64_t> times = reader.Integer("times", -1, kMaxInt, rule.times);
  if (!times.ok()) return times.status();
  if (*times == 0) return reader.Error("\"times\" must be -1 (every request) or at least 1, not 0");
  rule.times = static_cast<int>(*times);

  switch (rule.kind) {
    case FaultKind::kHttpStatus: {
      absl::StatusOr<int64_t> status = reader.Integer("status", 200, 599);
      if (!status.ok()) return status.status();
      rule.status = static_cast<int>(*status);
      absl::StatusOr<int64_t> error_code = reader.Integer("error_code", kMinInt, kMaxInt, rule.status);
      if (!error_code.ok()) return error_code.status();
      rule.error_code = static_cast<int>(*error_code);
      absl::StatusOr<std::optional<std::string>> description = reader.String("description");
      if (!description.ok()) return description.status();
      rule.description = description->value_or(absl::StrCat("The emulator injected HTTP ", rule.status, "."));
      absl::StatusOr<std::optional<std::string>> body = reader.String("body");
      if (!body.ok()) return body.status();
      rule.body = *std::move(body);
      break;
    }
    case FaultKind::kThrottle: {
      absl::StatusOr<int64_t> seconds = reader.Integer("message_seconds", 0, kMaxInt, rule.message_seconds);
      if (!seconds.ok()) return seconds.status();
      rule.message_seconds = static_cast<int>(*seconds);
      break;
    }
    case FaultKind::kSlowFirstByte:
    case FaultKind::kStallMidBody: {
      absl::StatusOr<int64_t> delay = reader.Integer("delay_ms", 0, kMaxInt);
      if (!delay.ok()) return delay.status();
      rule.delay = absl::Milliseconds(*delay);
      break;
    }
    case FaultKind::kHugeBody: {
      absl::StatusOr<int64_t> bytes = reader.Integer("bytes", 0, std::numeric_limits<int64_t>::max());
      if (!bytes.ok()) return bytes.status();
      rule.padding_bytes = *bytes;
      break;
    }
    case FaultKind::kSlowBody: {
      absl::StatusOr<int64_t> chunk =
          reader.Integer("chunk_ms", 1, kMaxInt, absl::ToInt64Milliseconds(rule.chunk_interval));
      if (!chunk.ok()) return chunk.status();
      rule.chunk_interval = absl::Milliseconds(*chunk);
      absl::StatusOr<int64_t> duration =
          reader.Integer("duration_ms", 0, kMaxInt, absl::ToInt64Milliseconds(rule.duration));
      if (!duration.ok()) return duration.status();
      rule.duration = absl::Milliseconds(*duration);
      break;
    }
    case FaultKind::kResetMidBody:
    case FaultKind::kTruncatedJson:
    case FaultKind::kInvalidJson:
    case FaultKind::kHtml:
    case FaultKind::kWrongTypes:
    case FaultKind::kLoopNext:
      break;
  }

  if (rule.kind == FaultKind::kHttpStatus || rule.kind == FaultKind::kThrottle) {
    absl::StatusOr<std::optional<std::string>> retry_after = reader.String("retry_after");
    if (!retry_after.ok()) return retry_after.status();
    if (retry_after->has_value() && (*retry_after)->find_first_of("\r\n") != std::string::npos) {
      return reader.Error("\"retry_after\" must not contain line breaks");
    }
    rule.retry_after = *std::move(retry_after);
  }
  return rule;
}

}  // namespace

absl::string_view FaultKindName(FaultKind kind) {
  for (const KindInfo& info : kKinds) {
    if (info.kind == kind) return info.name;
  }
  return "unknown";
}

absl::StatusOr<std::vector<FaultRule>> ParseFaultScript(absl::string_view text) {
  const json script = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (script.is_discarded()) return absl::InvalidArgumentError("the fault script is not valid JSON");
  if (!script.is_array()) {
    return absl::InvalidArgumentError("the fault script must be a JSON array of rules");
  }
  std::vector<FaultRule> rules;
  for (size_t i = 0; i < script.size(); ++i) {
    absl::StatusOr<FaultRule> rule = ParseRule(script[i], i);
    if (!rule.ok()) return rule.status();
    rules.push_back(*std::move(rule));
  }
  return rules;
}

FaultScript::FaultScript(std::vector<FaultRule> rules) {
  for (FaultRule& rule : rules) entries_.push_back(Entry{std::move(rule)});
}

std::optional<FaultRule> FaultScript::TakeForPage(int page) { return Take(FaultRoute::kUsage, page); }

std::optional<FaultRule> FaultScript::TakeForToken() { return Take(FaultRoute::kToken, 0); }

std::optional<FaultRule> FaultScript::Take(FaultRoute route, int page) {
  for (Entry& entry : entries_) {
    if (entry.rule.route != route || entry.rule.page != page) continue;
    if (entry.rule.times != -1 && entry.used >= entry.rule.times) continue;
    ++entry.used;
    return entry.rule;
  }
  return std::nullopt;
}

}  // namespace pcusage::emulator
