// RecordToJsonLine without protobuf's generic printer: the record's fields written in order, byte for byte what
// google::protobuf::util::MessageToJsonString prints for it (record_json_test compares the two over every code point
// and random records), at a fraction of its cost. Protobuf's printer stays the fallback for what this writer does not
// expect (text that is not UTF-8).
#include <array>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "client_stubs/cpp/record_format.h"
#include "client_stubs/cpp/rfc3339.h"
#include "client_stubs/cpp/utf8.h"
#include "google/protobuf/util/json_util.h"

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;

struct CodePointRange {
  char32_t first;
  char32_t last;
};

// The non-ASCII code points protobuf's JSON printer writes as \u escapes (C1 controls, format characters, line and
// paragraph separators, bidi controls, tags): protobuf 3.21's util/internal/json_escaping.cc.
constexpr std::array<CodePointRange, 15> kEscapedNonAscii = {{
    {0x0080, 0x009F},
    {0x00AD, 0x00AD},
    {0x0600, 0x0603},
    {0x06DD, 0x06DD},
    {0x070F, 0x070F},
    {0x17B4, 0x17B5},
    {0x200B, 0x200F},
    {0x2028, 0x202E},
    {0x2060, 0x2064},
    {0x206A, 0x206F},
    {0xFEFF, 0xFEFF},
    {0xFFF9, 0xFFFB},
    {0x1D173, 0x1D17A},
    {0xE0001, 0xE0001},
    {0xE0020, 0xE007F},
}};

bool IsEscapedNonAscii(char32_t c) {
  for (const CodePointRange& range : kEscapedNonAscii) {
    if (c < range.first) return false;
    if (c <= range.last) return true;
  }
  return false;
}

void AppendUnicodeEscape(char32_t unit, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char escape[6] = {
      '\\', 'u', kHex[(unit >> 12) & 0xF], kHex[(unit >> 8) & 0xF], kHex[(unit >> 4) & 0xF], kHex[unit & 0xF]};
  out->append(escape, sizeof(escape));
}

// How an ASCII byte is written inside a JSON string: 0 as itself, 1 as a \u escape, or the letter after '\'.
constexpr std::array<char, 128> MakeAsciiEscapes() {
  std::array<char, 128> escapes{};
  for (int c = 0; c < 0x20; ++c) escapes[c] = 1;
  escapes['\b'] = 'b';
  escapes['\t'] = 't';
  escapes['\n'] = 'n';
  escapes['\f'] = 'f';
  escapes['\r'] = 'r';
  escapes['"'] = '"';
  escapes['\\'] = '\\';
  escapes['<'] = 1;
  escapes['>'] = 1;
  escapes[0x7F] = 1;
  return escapes;
}
constexpr std::array<char, 128> kAsciiEscapes = MakeAsciiEscapes();

// Appends `text` as a quoted JSON string; false (with `out` partly written) when it is not valid UTF-8.
bool AppendString(absl::string_view text, std::string* out) {
  out->push_back('"');
  std::size_t plain_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80 && kAsciiEscapes[byte] == 0) {
      ++i;
      continue;
    }
    out->append(text.data() + plain_start, i - plain_start);
    if (byte < 0x80) {
      if (kAsciiEscapes[byte] == 1) {
        AppendUnicodeEscape(byte, out);
      } else {
        out->push_back('\\');
        out->push_back(kAsciiEscapes[byte]);
      }
      plain_start = ++i;
      continue;
    }
    std::size_t length;
    const char32_t c = DecodeUtf8(text.substr(i), &length);
    if (c == kReplacementCharacter && length == 1) return false;  // malformed
    if (!IsEscapedNonAscii(c)) {
      out->append(text.data() + i, length);
    } else if (c < 0x10000) {
      AppendUnicodeEscape(c, out);
    } else {
      AppendUnicodeEscape(0xD800 + ((c - 0x10000) >> 10), out);
      AppendUnicodeEscape(0xDC00 + ((c - 0x10000) & 0x3FF), out);
    }
    i += length;
    plain_start = i;
  }
  out->append(text.data() + plain_start, i - plain_start);
  out->push_back('"');
  return true;
}

// Writes the separators and names of one JSON object's members.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;
  ~ObjectWriter() { out_->push_back('}'); }

  // Starts a member; `quoted_name` is its name with quotes and the colon, e.g. "\"id\":".
  std::string* Member(absl::string_view quoted_name) {
    if (!first_) out_->push_back(',');
    first_ = false;
    out_->append(quoted_name.data(), quoted_name.size());
    return out_;
  }

  // A proto3 string member, left out when empty.
  bool String(absl::string_view quoted_name, const std::string& value) {
    return value.empty() || AppendString(value, Member(quoted_name));
  }

 private:
  std::string* out_;
  bool first_ = true;
};

bool AppendDecimal(const google::type::Decimal& decimal, std::string* out) {
  ObjectWriter object(out);
  return object.String("\"value\":", decimal.value());
}

bool AppendBudget(const v1::SpendingBudget& budget, std::string* out) {
  ObjectWriter object(out);
  if (budget.has_amount() && !AppendDecimal(budget.amount(), object.Member("\"amount\":"))) return false;
  return object.String("\"objectType\":", budget.object_type());
}

// RFC 3339 in UTC as protobuf writes it, quoted; false outside years 1-9999.
bool AppendTimestamp(const google::protobuf::Timestamp& time, std::string* out) {
  out->push_back('"');
  if (!AppendRfc3339(time, out)) return false;
  out->push_back('"');
  return true;
}

bool AppendBudgetMember(absl::string_view quoted_name, bool has, const v1::SpendingBudget& budget,
                        ObjectWriter* object) {
  return !has || AppendBudget(budget, object->Member(quoted_name));
}

bool AppendDecimalMember(absl::string_view quoted_name, bool has, const google::type::Decimal& decimal,
                         ObjectWriter* object) {
  return !has || AppendDecimal(decimal, object->Member(quoted_name));
}

// The record's members in field-number order, as protobuf prints them; false when a value cannot be written.
bool AppendRecordMembers(const v1::CustomerMonthlyUsageRecord& record, ObjectWriter* object) {
  const bool ok =
      object->String("\"id\":", record.id()) && object->String("\"name\":", record.name()) &&
      object->String("\"resourceId\":", record.resource_id()) &&
      object->String("\"resourceName\":", record.resource_name()) &&
      AppendBudgetMember("\"budget\":", record.has_budget(), record.budget(), object) &&
      AppendBudgetMember("\"customerSpendingBudget\":", record.has_customer_spending_budget(),
                         record.customer_spending_budget(), object) &&
      AppendBudgetMember("\"usageSpendingBudget\":", record.has_usage_spending_budget(), record.usage_spending_budget(),
                         object) &&
      AppendDecimalMember("\"percentUsed\":", record.has_percent_used(), record.percent_used(), object) &&
      AppendDecimalMember("\"totalCost\":", record.has_total_cost(), record.total_cost(), object) &&
      AppendDecimalMember("\"usdTotalCost\":", record.has_usd_total_cost(), record.usd_total_cost(), object) &&
      object->String("\"currencyLocale\":", record.currency_locale()) &&
      object->String("\"currencyCode\":", record.currency_code()) &&
      object->String("\"currencySymbol\":", record.currency_symbol());
  if (!ok) return false;
  if (record.has_is_upgraded()) object->Member("\"isUpgraded\":")->append(record.is_upgraded() ? "true" : "false");
  if (record.has_last_modified_time() &&
      !AppendTimestamp(record.last_modified_time(), object->Member("\"lastModifiedTime\":"))) {
    return false;
  }
  return object->String("\"objectType\":", record.object_type());
}

bool AppendWithProtobuf(const v1::CustomerMonthlyUsageRecord& record, std::string* out) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.preserve_proto_field_names = false;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(record, &json, options).ok()) return false;
  out->append(json);
  return true;
}

}  // namespace

bool AppendRecordJsonLine(const v1::CustomerMonthlyUsageRecord& record, std::string* out) {
  const std::size_t start = out->size();
  bool written;
  {
    ObjectWriter object(out);
    written = AppendRecordMembers(record, &object);
  }
  if (written) return true;
  out->resize(start);
  // A value the writer does not expect (text that is not UTF-8, a timestamp out of range): protobuf decides.
  return AppendWithProtobuf(record, out);
}

std::string RecordToJsonLine(const v1::CustomerMonthlyUsageRecord& record) {
  std::string line;
  if (!AppendRecordJsonLine(record, &line)) return "";
  return line;
}

}  // namespace pcusage::client
