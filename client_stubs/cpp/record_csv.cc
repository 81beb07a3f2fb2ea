// The CSV rendering of usage records (RFC 4180): a header row of the proto's field names, then one row per record.
#include <array>
#include <string>

#include "absl/strings/string_view.h"
#include "client_stubs/cpp/record_format.h"
#include "client_stubs/cpp/rfc3339.h"

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;

constexpr char kRowEnd[] = "\r\n";

// The columns, in the order of the proto's fields.
constexpr std::array<const char*, 15> kCsvColumns = {{
    "id",
    "name",
    "resource_id",
    "resource_name",
    "budget_amount",
    "customer_spending_budget_amount",
    "usage_spending_budget_amount",
    "percent_used",
    "total_cost",
    "usd_total_cost",
    "currency_locale",
    "currency_code",
    "currency_symbol",
    "is_upgraded",
    "last_modified_time",
}};

// Appends `text` as one field: verbatim, or in double quotes (each quote doubled) when it holds a comma, a quote,
// CR or LF.
void AppendField(absl::string_view text, std::string* out) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) {
    out->append(text.data(), text.size());
    return;
  }
  out->push_back('"');
  for (const char c : text) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// Appends a separator and then `text` as a field.
void AppendNextField(absl::string_view text, std::string* out) {
  out->push_back(',');
  AppendField(text, out);
}

void AppendDecimal(bool has, const google::type::Decimal& decimal, std::string* out) {
  AppendNextField(has ? absl::string_view(decimal.value()) : absl::string_view(), out);
}

void AppendBudgetAmount(bool has, const v1::SpendingBudget& budget, std::string* out) {
  AppendDecimal(has && budget.has_amount(), budget.amount(), out);
}

}  // namespace

std::string CsvHeader() {
  std::string header;
  for (const char* column : kCsvColumns) {
    if (!header.empty()) header.push_back(',');
    header.append(column);
  }
  header.append(kRowEnd);
  return header;
}

bool AppendRecordCsvRow(const v1::CustomerMonthlyUsageRecord& record, std::string* out) {
  std::string timestamp;
  if (record.has_last_modified_time() && !AppendRfc3339(record.last_modified_time(), &timestamp)) return false;
  AppendField(record.id(), out);
  AppendNextField(record.name(), out);
  AppendNextField(record.resource_id(), out);
  AppendNextField(record.resource_name(), out);
  AppendBudgetAmount(record.has_budget(), record.budget(), out);
  AppendBudgetAmount(record.has_customer_spending_budget(), record.customer_spending_budget(), out);
  AppendBudgetAmount(record.has_usage_spending_budget(), record.usage_spending_budget(), out);
  AppendDecimal(record.has_percent_used(), record.percent_used(), out);
  AppendDecimal(record.has_total_cost(), record.total_cost(), out);
  AppendDecimal(record.has_usd_total_cost(), record.usd_total_cost(), out);
  AppendNextField(record.currency_locale(), out);
  AppendNextField(record.currency_code(), out);
  AppendNextField(record.currency_symbol(), out);
  AppendNextField(record.has_is_upgraded() ? (record.is_upgraded() ? "true" : "false") : "", out);
  AppendNextField(timestamp, out);
  out->append(kRowEnd);
  return true;
}

}  // namespace pcusage::client
