#include "tests/emulator/record_edits.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace pcusage::emulator {
namespace {

using json = nlohmann::json;

absl::Status Invalid(std::size_t index, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("edit ", index, ": ", problem));
}

// A number field: a string holding JSON number text (sent as written), or null.
absl::StatusOr<std::optional<std::string>> NumberText(const json& value, std::size_t index, absl::string_view key) {
  if (value.is_null()) return std::nullopt;
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (json::parse(text, nullptr, /*allow_exceptions=*/false).is_number()) return text;
  }
  return Invalid(index, absl::StrCat(key, " must be null or a string of JSON number text such as \"79.99\""));
}

absl::StatusOr<RecordEdit> ParseEdit(const json& object, std::size_t index) {
  if (!object.is_object()) return Invalid(index, "an edit must be a JSON object");
  RecordEdit edit;
  bool add = false;
  bool remove = false;
  for (const auto& [key, value] : object.items()) {
    if (key == "resource_id" || key == "currency_code" || key == "resource_name") {
      if (!value.is_string()) return Invalid(index, absl::StrCat(key, " must be a string"));
      std::string text = value.get<std::string>();
      if (key == "resource_id") edit.resource_id = std::move(text);
      if (key == "currency_code") edit.currency_code = std::move(text);
      if (key == "resource_name") edit.resource_name = std::move(text);
    } else if (key == "add" || key == "remove") {
      if (!value.is_boolean()) return Invalid(index, absl::StrCat(key, " must be true or false"));
      (key == "add" ? add : remove) = value.get<bool>();
    } else if (key == "percent_used" || key == "budget") {
      absl::StatusOr<std::optional<std::string>> number = NumberText(value, index, key);
      if (!number.ok()) return number.status();
      (key == "percent_used" ? edit.percent_used : edit.budget_amount) = *std::move(number);
    } else {
      return Invalid(index, absl::StrCat("unknown field \"", key, "\""));
    }
  }
  if (edit.resource_id.empty()) return Invalid(index, "resource_id is required");
  if (add && remove) return Invalid(index, "add and remove exclude each other");
  if (add) edit.action = RecordEdit::Action::kAdd;
  if (remove) edit.action = RecordEdit::Action::kRemove;
  return edit;
}

}  // namespace

absl::StatusOr<std::vector<RecordEdit>> ParseRecordEdits(absl::string_view json_text) {
  const json edits = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (edits.is_discarded() || !edits.is_array()) {
    return absl::InvalidArgumentError("the edits must be a JSON array of objects");
  }
  std::vector<RecordEdit> parsed;
  for (std::size_t i = 0; i < edits.size(); ++i) {
    absl::StatusOr<RecordEdit> edit = ParseEdit(edits[i], i);
    if (!edit.ok()) return edit.status();
    parsed.push_back(*std::move(edit));
  }
  return parsed;
}

}  // namespace pcusage::emulator
