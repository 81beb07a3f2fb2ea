#include "tests/emulator/dataset.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace pcusage::emulator {
namespace {

// Customer names, cycled: scripts, emoji (one with a zero-width joiner) and
// characters that JSON must escape.
constexpr const char* kNames[] = {
    "Contoso Ltd.",
    "Café Müller GmbH & Co. KG",
    "株式会社サンプル商事 (東京)",
    "Rocket 🚀 Labs 👩‍💻",
    "The \"Quoted\" Company",
    "Back\\slash C:\\Partners\\ LLC",
    "Ελληνική Εταιρεία Α.Ε.",
    "Line\nBreak\tand Tab Industries",
    "مؤسسة الاختبار",
    "Zürich Ølstykke Ǆemal ÅÄÖ",
};

// Decimal texts, cycled through the cost fields: .NET decimal extremes,
// exponent forms, zero, negative zero and plain integers.
constexpr const char* kDecimals[] = {
    "0",
    "120.5682999999995904716",
    "12.39999999999999985235",
    "-3.75",
    "-0.0",
    "1.5e+2",
    "2.5e-3",
    "42",
    "79228162514264337593543950335",
    "0.0000000000000000000000000001",
    "1234567890.123456789012345678",
    "-7922816251426433759354395033.5",
    "1E+2",
    "602.84",
};

constexpr const char* kBudgetAmounts[] = {
    "20", "97", "1500.50", "0", "99999999999999999999.99999999", "2.5e+3",
};

struct Currency {
  const char* locale;
  const char* code;
  const char* symbol;
};

// Index 0 is a legacy (MS-AZR-0145P) customer, who has a locale instead of a
// currency code; the rest are on the Azure plan, one without a symbol.
constexpr Currency kCurrencies[] = {
    {"fr-FR", nullptr, nullptr}, {nullptr, "SEK", "kr"},    {nullptr, "GBP", "£"}, {nullptr, "JPY", "¥"},
    {nullptr, "EUR", "€"},       {nullptr, "CHF", nullptr}, {nullptr, "INR", "₹"},
};

struct Timestamp {
  const char* text;
  int64_t unix_seconds;
  int32_t nanos;
};

// Instants computed with `date -u -d TEXT +%s` and `+%N`.
constexpr Timestamp kTimestamps[] = {
    {"2024-02-29T12:00:00Z", 1709208000, 0},
    {"2023-12-31T23:59:59.9+05:30", 1704047399, 900000000},
    {"2019-08-01T23:00:16.57+00:00", 1564700416, 570000000},
    {"2021-03-14T01:59:26.535-07:00", 1615712366, 535000000},
    {"2022-06-30T23:59:59.9999Z", 1656633599, 999900000},
    {"2020-01-01T00:00:00.00001+00:00", 1577836800, 10000},
    {"2018-11-04T01:30:00.123456-07:00", 1541320200, 123456000},
    {"2019-05-28T16:47:45.4430149-07:00", 1559087265, 443014900},
    {"1969-12-31T23:59:59.5Z", -1, 500000000},
    {"2019-09-17T17:08:11.1433333+00:00", 1568740091, 143333300},
};

constexpr absl::string_view kTokenPrefix = "ct1.";
constexpr absl::string_view kTokenPayloadPrefix = "usagerecords/page/";
constexpr absl::string_view kFutureFieldValue = R"({"nested": [1, 2]})";

template <typename T, size_t N>
const T& Cycle(const T (&table)[N], int index) {
  return table[index % N];
}

std::optional<std::string> OptionalText(const char* text) {
  if (text == nullptr) return std::nullopt;
  return std::string(text);
}

// Each record has one budget field of each kind; `kind` rotates which.
ExpectedBudget MakeBudget(int kind, const char* amount) {
  switch (kind % 3) {
    case 0:
      return ExpectedBudget{};
    case 1:
      return ExpectedBudget{true, std::nullopt};
    default:
      return ExpectedBudget{true, amount};
  }
}

GeneratedRecord MakeRecord(int i) {
  GeneratedRecord record;
  record.id = absl::StrFormat("%08x-c0de-4%03x-8000-%012x", static_cast<uint32_t>(i) * 2654435761u, i % 4096, i);
  record.resource_id = record.id;
  record.resource_name = Cycle(kNames, i);
  record.name = record.resource_name;
  const char* amount = Cycle(kBudgetAmounts, i);
  record.budget = MakeBudget(i, amount);
  record.customer_spending_budget = MakeBudget(i + 1, amount);
  record.usage_spending_budget = MakeBudget(i + 2, amount);

  const Currency& currency = Cycle(kCurrencies, i);
  const bool legacy = currency.locale != nullptr;
  record.currency_locale = OptionalText(currency.locale);
  record.currency_code = OptionalText(currency.code);
  record.currency_symbol = OptionalText(currency.symbol);

  if (i % 6 != 5) record.percent_used = Cycle(kDecimals, 3 * i + 1);
  if (i % 12 != 11) record.total_cost = Cycle(kDecimals, i);
  if (!legacy) record.usd_total_cost = Cycle(kDecimals, 5 * i + 2);
  if (i % 5 != 3) record.is_upgraded = !legacy;
  if (i % 11 != 10) {
    const Timestamp& timestamp = Cycle(kTimestamps, i);
    record.last_modified_date = timestamp.text;
    record.last_modified_unix_seconds = timestamp.unix_seconds;
    record.last_modified_nanos = timestamp.nanos;
  }
  record.sends_nulls = i % 2 == 1;
  record.ascii_escaped = i % 4 == 3;
  return record;
}

// Builds the text of one JSON object whose member values are already JSON.
class ObjectText {
 public:
  explicit ObjectText(bool ascii_escaped) : ascii_escaped_(ascii_escaped) {}

  std::string Quote(absl::string_view text) const {
    return nlohmann::json(std::string(text)).dump(-1, ' ', ascii_escaped_);
  }

  void Add(absl::string_view key, std::string json) { members_.push_back(absl::StrCat(Quote(key), ": ", json)); }
  void AddString(absl::string_view key, absl::string_view text) { Add(key, Quote(text)); }
  // Adds `json` if set, else null if `sends_nulls`, else nothing.
  void AddOptional(absl::string_view key, const std::optional<std::string>& json, bool sends_nulls) {
    if (json.has_value()) {
      Add(key, *json);
    } else if (sends_nulls) {
      Add(key, "null");
    }
  }
  void AddOptionalString(absl::string_view key, const std::optional<std::string>& text, bool sends_nulls) {
    AddOptional(key, text ? std::optional(Quote(*text)) : std::nullopt, sends_nulls);
  }

  std::string Render() const { return absl::StrCat("{", absl::StrJoin(members_, ", "), "}"); }

 private:
  bool ascii_escaped_;
  std::vector<std::string> members_;
};

std::optional<std::string> BudgetJson(const ExpectedBudget& budget, bool sends_nulls, bool with_etag) {
  if (!budget.present) return std::nullopt;
  ObjectText object(/*ascii_escaped=*/false);
  object.AddOptional("amount", budget.amount, sends_nulls);
  object.Add("attributes", with_etag ? R"({"objectType": "SpendingBudget", )"
                                       R"("etag": "W/\"1\""})"
                                     : R"({"objectType": "SpendingBudget"})");
  return object.Render();
}

std::optional<std::string> BoolJson(std::optional<bool> value) {
  if (!value.has_value()) return std::nullopt;
  return *value ? "true" : "false";
}

// `index` picks which unknown fields the record carries.
std::string RecordJson(const GeneratedRecord& record, int index) {
  const bool nulls = record.sends_nulls;
  const bool with_etag = index % 5 == 1;
  ObjectText object(record.ascii_escaped);
  if (index % 4 == 0) object.Add("futureField", std::string(kFutureFieldValue));
  object.AddOptional("budget", BudgetJson(record.budget, nulls, with_etag), nulls);
  object.AddOptional("customerSpendingBudget", BudgetJson(record.customer_spending_budget, nulls, with_etag), nulls);
  object.AddOptional("usageSpendingBudget", BudgetJson(record.usage_spending_budget, nulls, with_etag), nulls);
  object.AddOptional("percentUsed", record.percent_used, nulls);
  object.AddOptional("isUpgraded", BoolJson(record.is_upgraded), nulls);
  object.AddString("resourceId", record.resource_id);
  object.AddString("id", record.id);
  object.AddString("resourceName", record.resource_name);
  object.AddString("name", record.name);
  object.AddOptional("totalCost", record.total_cost, nulls);
  object.AddOptionalString("currencyLocale", record.currency_locale, nulls);
  object.AddOptionalString("currencyCode", record.currency_code, nulls);
  object.AddOptionalString("currencySymbol", record.currency_symbol, nulls);
  object.AddOptional("usdTotalCost", record.usd_total_cost, nulls);
  object.AddOptionalString("lastModifiedDate", record.last_modified_date, nulls);
  object.Add("attributes", absl::StrCat(R"({"objectType": )", object.Quote(record.object_type), "}"));
  if (index % 4 == 2) {
    object.Add("partnerExtras", R"({"tier": "gold", "flags": [true, false, null], )"
                                R"("ratio": 1.25e-5, "note": "ignored \"quoted\" \u00e9"})");
  }
  return object.Render();
}

}  // namespace

GeneratedDataset::GeneratedDataset(int customers, int page_size)
    : customers_(std::max(customers, 0)), page_size_(std::max(page_size, 1)) {
  records_.reserve(customers_);
  for (int i = 0; i < customers_; ++i) records_.push_back(MakeRecord(i));
}

int GeneratedDataset::page_count() const { return std::max(1, (customers_ + page_size_ - 1) / page_size_); }

const std::vector<GeneratedRecord>& GeneratedDataset::records() const { return records_; }

std::string GeneratedDataset::RenderPage(int page) const {
  const int begin = std::clamp(page * page_size_, 0, customers_);
  const int end = std::clamp(begin + page_size_, 0, customers_);
  std::vector<std::string> items;
  for (int i = begin; i < end; ++i) {
    items.push_back(absl::StrCat("    ", RecordJson(records_[i], i)));
  }

  std::string links =
      absl::StrCat(R"({"self": {"uri": "/customers/usagerecords", "method": "GET", )", R"("headers": []})");
  if (page + 1 < page_count()) {
    absl::StrAppend(&links, R"(, "next": {"uri": "/v1/customers/usagerecords?seekOperation=Next", )",
                    R"("method": "GET", "headers": [{"key": "MS-ContinuationToken", )", R"("value": )",
                    nlohmann::json(ContinuationToken(page + 1)).dump(), "}]}");
  }
  absl::StrAppend(&links, "}");

  std::string body = absl::StrCat("{\n  \"totalCount\": ", customers_ + 7, ",\n  \"futureField\": ", kFutureFieldValue,
                                  ",\n  \"items\": [");
  if (!items.empty()) {
    absl::StrAppend(&body, "\n", absl::StrJoin(items, ",\n"), "\n  ");
  }
  absl::StrAppend(&body, "],\n  \"links\": ", links, ",\n  \"attributes\": {\"objectType\": \"Collection\"}\n}\n");
  return body;
}

std::string GeneratedDataset::ContinuationToken(int page) {
  return absl::StrCat(kTokenPrefix, absl::Base64Escape(absl::StrCat(kTokenPayloadPrefix, page)));
}

std::optional<int> GeneratedDataset::PageForToken(absl::string_view token) const {
  absl::string_view encoded = token;
  std::string payload;
  if (!absl::ConsumePrefix(&encoded, kTokenPrefix) || !absl::Base64Unescape(encoded, &payload)) {
    return std::nullopt;
  }
  absl::string_view number = payload;
  int page = 0;
  if (!absl::ConsumePrefix(&number, kTokenPayloadPrefix) || !absl::SimpleAtoi(number, &page) || page < 0 ||
      page >= page_count() || ContinuationToken(page) != token) {
    return std::nullopt;
  }
  return page;
}

absl::Status GeneratedDataset::Apply(const std::vector<RecordEdit>& edits) {
  std::vector<GeneratedRecord> records = records_;
  for (std::size_t e = 0; e < edits.size(); ++e) {
    const RecordEdit& edit = edits[e];
    auto it = std::find_if(records.begin(), records.end(),
                           [&edit](const GeneratedRecord& record) { return record.resource_id == edit.resource_id; });
    if ((it == records.end()) != (edit.action == RecordEdit::Action::kAdd)) {
      return absl::InvalidArgumentError(absl::StrCat("edit ", e, ": customer ", edit.resource_id,
                                                     it == records.end() ? " is not listed" : " is already listed"));
    }
    if (edit.action == RecordEdit::Action::kRemove) {
      records.erase(it);
      continue;
    }
    if (edit.action == RecordEdit::Action::kAdd) {
      GeneratedRecord added;
      added.id = added.resource_id = edit.resource_id;
      added.resource_name = added.name = edit.resource_name.value_or("Added customer");
      added.currency_code = "USD";
      added.total_cost = "0";
      it = records.insert(records.end(), std::move(added));
    }
    if (edit.percent_used.has_value()) it->percent_used = *edit.percent_used;
    if (edit.budget_amount.has_value()) it->budget = ExpectedBudget{true, *edit.budget_amount};
    if (edit.currency_code.has_value()) it->currency_code = *edit.currency_code;
  }
  records_ = std::move(records);
  customers_ = static_cast<int>(records_.size());
  return absl::OkStatus();
}

}  // namespace pcusage::emulator
