// Text renderings of usage records for people and scripts: one JSON object per line, CSV, or an aligned table. Money
// values are printed as the exact decimal text the server sent, never through a floating-point type.
#ifndef PCUSAGE_CLIENT_STUBS_CPP_RECORD_FORMAT_H_
#define PCUSAGE_CLIENT_STUBS_CPP_RECORD_FORMAT_H_

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "partnercenter/usage/v1/usage_records.pb.h"

namespace pcusage::client {

// The record as protobuf's canonical JSON on one line, without a trailing newline: lowerCamel field names, no
// whitespace, unset fields left out (so an unset cost and a cost of "0" differ), decimals as {"value":"<text>"}
// with the text unchanged. Returns an empty string when protobuf cannot print the record (e.g. a timestamp outside
// years 1-9999).
std::string RecordToJsonLine(const partnercenter::usage::v1::CustomerMonthlyUsageRecord& record);

// RecordToJsonLine appended to `out`, without a newline; false (and `out` unchanged) when protobuf cannot print the
// record. Written field by field, byte for byte what protobuf's generic printer gives, at a fraction of its cost.
bool AppendRecordJsonLine(const partnercenter::usage::v1::CustomerMonthlyUsageRecord& record, std::string* out);

// CSV (RFC 4180) for spreadsheets and scripts. The header row: the columns' names, which are the proto's field names
// (a budget's amount is `budget_amount`, and so on), comma-separated and ending in CRLF. The columns are id, name,
// resource_id, resource_name, budget_amount, customer_spending_budget_amount, usage_spending_budget_amount,
// percent_used, total_cost, usd_total_cost, currency_locale, currency_code, currency_symbol, is_upgraded ("true" or
// "false") and last_modified_time (RFC 3339, UTC).
std::string CsvHeader();

// Appends the record as one CSV row matching CsvHeader, ending in CRLF: decimals are the server's text unchanged,
// an absent value (and a budget without an amount) is an empty field, and a field holding a comma, a double quote, CR
// or LF is quoted with its quotes doubled; other text is written as it is (UTF-8). False, with `out` unchanged, when
// the record cannot be printed (a timestamp outside years 1-9999).
bool AppendRecordCsvRow(const partnercenter::usage::v1::CustomerMonthlyUsageRecord& record, std::string* out);

// How many terminal columns `utf8` takes, by a simple rule: one per code point, except two for East Asian wide and
// fullwidth characters (CJK, Hangul, kana, fullwidth forms, common emoji) and none for combining marks, variation
// selectors and zero-width characters. Each byte of malformed UTF-8 counts as one column.
int DisplayWidth(absl::string_view utf8);

// Collects records and prints them as a table with aligned columns: CUSTOMER, TENANT, CURRENCY, TOTAL COST, USD,
// BUDGET, USED %, UPGRADED and LAST MODIFIED (RFC 3339, UTC). Widths depend on every row, so nothing is printed until
// Write. Missing values print as "-"; a budget without an amount prints as "none". Control characters, bidi
// overrides and malformed UTF-8 in the server's text print as U+FFFD, so a name cannot break the layout or the
// terminal.
class TableWriter {
 public:
  void AddRecord(const partnercenter::usage::v1::CustomerMonthlyUsageRecord& record);

  // Rows added so far.
  std::size_t size() const { return rows_.size(); }

  // Writes the header line and then one line per record in the order added, each ending in '\n' and without
  // trailing spaces. Numbers are right-aligned, text left-aligned, columns two spaces apart.
  void Write(std::ostream& out) const;

  // Write's output as a string.
  std::string ToString() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace pcusage::client

#endif  // PCUSAGE_CLIENT_STUBS_CPP_RECORD_FORMAT_H_
