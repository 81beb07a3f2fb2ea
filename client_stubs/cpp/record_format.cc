#include "client_stubs/cpp/record_format.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <sstream>

#include "client_stubs/cpp/rfc3339.h"
#include "client_stubs/cpp/utf8.h"

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;

constexpr char kMissing[] = "-";

struct CodePointRange {
  char32_t first;
  char32_t last;
};

// Zero-width: combining marks, zero-width spaces and joiners, directional marks, variation selectors.
constexpr std::array<CodePointRange, 9> kZeroWidth = {{
    {0x0300, 0x036F},
    {0x1AB0, 0x1AFF},
    {0x1DC0, 0x1DFF},
    {0x200B, 0x200F},
    {0x20D0, 0x20FF},
    {0x3099, 0x309A},
    {0xFE00, 0xFE0F},
    {0xFE20, 0xFE2F},
    {0xE0100, 0xE01EF},
}};

// East Asian Wide and Fullwidth blocks, coarsely.
constexpr std::array<CodePointRange, 19> kDoubleWidth = {{
    {0x1100, 0x115F},    // Hangul Jamo initials
    {0x231A, 0x231B},    // watch, hourglass
    {0x2329, 0x232A},    // angle brackets
    {0x2E80, 0x303E},    // CJK radicals, Kangxi, CJK symbols and punctuation
    {0x3041, 0x33FF},    // kana, Bopomofo, Hangul compatibility Jamo, CJK compatibility
    {0x3400, 0x4DBF},    // CJK extension A
    {0x4E00, 0x9FFF},    // CJK unified ideographs
    {0xA000, 0xA4CF},    // Yi
    {0xA960, 0xA97F},    // Hangul Jamo extended A
    {0xAC00, 0xD7A3},    // Hangul syllables
    {0xF900, 0xFAFF},    // CJK compatibility ideographs
    {0xFE10, 0xFE19},    // vertical forms
    {0xFE30, 0xFE6F},    // CJK compatibility forms, small forms
    {0xFF00, 0xFF60},    // fullwidth forms
    {0xFFE0, 0xFFE6},    // fullwidth signs
    {0x1F300, 0x1F64F},  // pictographs, emoticons
    {0x1F900, 0x1F9FF},  // supplemental pictographs
    {0x20000, 0x2FFFD},  // CJK extensions B-F, compatibility supplement
    {0x30000, 0x3FFFD},  // CJK extension G
}};

template <std::size_t N>
bool InRanges(char32_t c, const std::array<CodePointRange, N>& ranges) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [c](const CodePointRange& range) { return range.first <= c && c <= range.last; });
}

// `text` made safe for one table cell; "-" when empty.
std::string Cell(absl::string_view text) {
  if (text.empty()) return kMissing;
  std::string cell;
  AppendPrintable(text, &cell);
  return cell;
}

std::string DecimalCell(bool has, const google::type::Decimal& decimal) {
  return has ? Cell(decimal.value()) : kMissing;
}

std::string BudgetCell(const v1::CustomerMonthlyUsageRecord& record) {
  if (!record.has_budget()) return kMissing;
  if (!record.budget().has_amount()) return "none";
  return Cell(record.budget().amount().value());
}

std::string UpgradedCell(const v1::CustomerMonthlyUsageRecord& record) {
  if (!record.has_is_upgraded()) return kMissing;
  return record.is_upgraded() ? "yes" : "no";
}

std::string TimestampCell(const v1::CustomerMonthlyUsageRecord& record) {
  if (!record.has_last_modified_time()) return kMissing;
  std::string cell;
  return AppendRfc3339(record.last_modified_time(), &cell) ? cell : "invalid";
}

struct Column {
  const char* title;
  bool right_aligned;
};

constexpr std::array<Column, 9> kColumns = {{
    {"CUSTOMER", false},
    {"TENANT", false},
    {"CURRENCY", false},
    {"TOTAL COST", true},
    {"USD", true},
    {"BUDGET", true},
    {"USED %", true},
    {"UPGRADED", false},
    {"LAST MODIFIED", false},
}};

void WriteLine(const std::vector<std::string>& cells, const std::vector<int>& widths, std::ostream& out) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line.append(2, ' ');
    const std::string padding(widths[i] - DisplayWidth(cells[i]), ' ');
    if (kColumns[i].right_aligned) line += padding;
    line += cells[i];
    if (!kColumns[i].right_aligned) line += padding;
  }
  line.erase(line.find_last_not_of(' ') + 1);
  out << line << '\n';
}

}  // namespace

int DisplayWidth(absl::string_view utf8) {
  int width = 0;
  while (!utf8.empty()) {
    std::size_t length;
    const char32_t c = DecodeUtf8(utf8, &length);
    if (InRanges(c, kDoubleWidth)) {
      width += 2;
    } else if (!InRanges(c, kZeroWidth)) {
      width += 1;
    }
    utf8.remove_prefix(length);
  }
  return width;
}

void TableWriter::AddRecord(const v1::CustomerMonthlyUsageRecord& record) {
  const std::string& currency = record.currency_code().empty() ? record.currency_locale() : record.currency_code();
  rows_.push_back({
      Cell(record.resource_name()),
      Cell(record.resource_id()),
      Cell(currency),
      DecimalCell(record.has_total_cost(), record.total_cost()),
      DecimalCell(record.has_usd_total_cost(), record.usd_total_cost()),
      BudgetCell(record),
      DecimalCell(record.has_percent_used(), record.percent_used()),
      UpgradedCell(record),
      TimestampCell(record),
  });
}

void TableWriter::Write(std::ostream& out) const {
  std::vector<std::string> header;
  std::vector<int> widths;
  for (const Column& column : kColumns) {
    header.emplace_back(column.title);
    widths.push_back(DisplayWidth(column.title));
  }
  for (const std::vector<std::string>& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  WriteLine(header, widths, out);
  for (const std::vector<std::string>& row : rows_) WriteLine(row, widths, out);
}

std::string TableWriter::ToString() const {
  std::ostringstream out;
  Write(out);
  return out.str();
}

}  // namespace pcusage::client
