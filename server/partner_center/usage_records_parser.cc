#include "server/partner_center/usage_records_parser.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/common/printable.h"
#include "server/partner_center/json_scalars.h"
#include "simdjson.h"

namespace pcusage::partner_center {
namespace {

namespace od = ::simdjson::ondemand;
namespace v1 = ::partnercenter::usage::v1;
using Record = v1::CustomerMonthlyUsageRecord;

// Where a value is, kept as a chain of stack frames and turned into text ("items[1].budget.amount") only when an
// error names it. The root value has depth 1.
struct Path {
  const Path* parent = nullptr;
  absl::string_view member;  // the member's name as sent, or empty for an array element
  std::size_t index = 0;     // an array element's index
  int depth = 1;

  Path Member(absl::string_view name) const { return Path{this, name, 0, depth + 1}; }
  Path Element(std::size_t i) const { return Path{this, {}, i, depth + 1}; }

  std::string ToString() const {
    if (parent == nullptr) return "";
    std::string text = parent->ToString();
    if (member.empty()) return absl::StrCat(text, "[", index, "]");
    return absl::StrCat(text, text.empty() ? "" : ".", Printable(member, 64));
  }
};

// simdjson hands out std::string_view; Debian's Abseil has a string_view of its own.
absl::string_view View(std::string_view text) { return {text.data(), text.size()}; }

absl::Status JsonError(simdjson::error_code code, absl::string_view detail = "") {
  return absl::InvalidArgumentError(
      absl::StrCat("not valid JSON: ", detail.empty() ? simdjson::error_message(code) : detail));
}

absl::Status FieldError(const Path& path, absl::string_view problem) {
  const std::string where = path.ToString();
  return absl::InvalidArgumentError(where.empty() ? std::string(problem) : absl::StrCat(where, ": ", problem));
}

absl::string_view TrimJsonSpace(absl::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(absl::string_view text) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    return i > start;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.' && (++i, !digits())) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == text.size();
}

// The raw text of a number value, checked against JSON's grammar (On-Demand does not check tokens it only reads).
absl::StatusOr<absl::string_view> NumberText(od::value& value) {
  const absl::string_view text = TrimJsonSpace(View(value.raw_json_token()));
  if (!IsJsonNumber(text)) {
    return JsonError(simdjson::NUMBER_ERROR, absl::StrCat("\"", Printable(text, 40), "\" is not a JSON number"));
  }
  return text;
}

// How many containers deep `raw` (the JSON text of an array or object) nests: "[]" is 1, "[[1]]" is 2.
int NestingDepth(absl::string_view raw) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (in_string) {
      if (c == '\\') ++i;
      if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// The JSON text of an array or object value (consumed).
simdjson::simdjson_result<std::string_view> RawContainer(od::value& value, od::json_type type) {
  if (type == od::json_type::array) {
    od::array array;
    if (auto error = value.get_array().get(array)) return error;
    return array.raw_json();
  }
  od::object object;
  if (auto error = value.get_object().get(object)) return error;
  return object.raw_json();
}

// "expected <what>, got <the value>"; a container nested past kMaxKeptDepth is reported as such first, since
// nothing that deep is accepted where records are read, whatever its type.
absl::Status WrongType(od::value& value, od::json_type type, const Path& path, absl::string_view expected) {
  std::string got;
  switch (type) {
    case od::json_type::array:
    case od::json_type::object: {
      std::string_view raw;
      if (auto error = RawContainer(value, type).get(raw)) return JsonError(error);
      if (path.depth + NestingDepth(View(raw)) - 1 > kMaxKeptDepth) {
        return absl::InvalidArgumentError(
            absl::StrCat("values are nested more than ", kMaxKeptDepth, " levels deep where records are read"));
      }
      got = type == od::json_type::array ? "an array" : "an object";
      break;
    }
    case od::json_type::number:
      got = absl::StrCat("the number ", Printable(TrimJsonSpace(View(value.raw_json_token())), 40));
      break;
    case od::json_type::string: {
      std::string_view text;
      if (auto error = value.get_string().get(text)) return JsonError(error);
      got = absl::StrCat("the string \"", Printable(View(text), 40), "\"");
      break;
    }
    case od::json_type::boolean: {
      bool flag = false;
      if (auto error = value.get_bool().get(flag)) return JsonError(error);
      got = flag ? "true" : "false";
      break;
    }
    case od::json_type::null:
      got = "null";
      break;
  }
  return FieldError(path, absl::StrCat("expected ", expected, ", got ", got));
}

inline absl::StatusOr<od::json_type> TypeOf(od::value& value) {
  od::json_type type;
  if (auto error = value.type().get(type)) return JsonError(error);
  return type;
}

// What a record's member said, gathered as the members arrive (a member sent twice overwrites, null clears) and
// written out in field-number order once the record closes. Texts point into the page or the parser's string
// buffer, both alive until the page is translated.
struct Slot {
  bool present = false;
  absl::string_view text;  // a string, or a decimal's normalized text
  std::string owned;       // a decimal's normalized text when it differs from what was sent
  bool flag = false;       // a bool
  int64_t seconds = 0;     // a timestamp
  int32_t nanos = 0;
  // A budget: its amount (present, text, owned as above) and object type.
  bool amount_present = false;
  absl::string_view amount_text;
  std::string amount_owned;
  absl::string_view object_type;

  void Clear() {
    present = false;
    amount_present = false;
    text = object_type = amount_text = {};
  }
};

absl::Status ReadString(od::value& value, const Path& path, absl::string_view* out) {
  absl::StatusOr<od::json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != od::json_type::string) return WrongType(value, *type, path, "a string");
  std::string_view text;
  if (auto error = value.get_string().get(text)) return JsonError(error);
  *out = View(text);
  return absl::OkStatus();
}

// Numbers and numeric strings (Partner Center sometimes quotes decimals) become exact Decimal values: `*text`
// points at the digits as sent, or at `*owned` when google.type.Decimal's normalization changed them.
absl::Status ReadDecimal(od::value& value, const Path& path, absl::string_view* text, std::string* owned) {
  absl::StatusOr<od::json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  absl::string_view sent;
  if (*type == od::json_type::number) {
    absl::StatusOr<absl::string_view> number = NumberText(value);
    if (!number.ok()) return number.status();
    sent = *number;
  } else if (*type == od::json_type::string) {
    std::string_view quoted;
    if (auto error = value.get_string().get(quoted)) return JsonError(error);
    sent = View(quoted);
  } else {
    return WrongType(value, *type, path, "a decimal number");
  }
  if (absl::Status status = NormalizeDecimalTo(sent, owned); !status.ok()) return FieldError(path, status.message());
  *text = *owned == sent ? sent : absl::string_view(*owned);
  return absl::OkStatus();
}

absl::Status ReadTimestamp(od::value& value, const Path& path, Slot* slot) {
  absl::StatusOr<od::json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != od::json_type::string) return WrongType(value, *type, path, "an RFC 3339 date-time string");
  std::string_view text;
  if (auto error = value.get_string().get(text)) return JsonError(error);
  absl::StatusOr<google::protobuf::Timestamp> timestamp = ParseRfc3339Timestamp(View(text));
  if (!timestamp.ok()) return FieldError(path, timestamp.status().message());
  slot->seconds = timestamp->seconds();
  slot->nanos = timestamp->nanos();
  return absl::OkStatus();
}

absl::Status ReadBool(od::value& value, const Path& path, bool* out) {
  absl::StatusOr<od::json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != od::json_type::boolean) return WrongType(value, *type, path, "true or false");
  if (auto error = value.get_bool().get(*out)) return JsonError(error);
  return absl::OkStatus();
}

// Calls `read(name, value, path)` for each member of the object `value` that is not null; `on_null(name)` for the
// others (a null member clears what an earlier member of that name set).
template <typename Read, typename OnNull>
absl::Status ForEachMember(od::value& value, const Path& path, Read&& read, OnNull&& on_null) {
  absl::StatusOr<od::json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != od::json_type::object) return WrongType(value, *type, path, "an object");
  od::object object;
  if (auto error = value.get_object().get(object)) return JsonError(error);
  for (auto field : object) {
    std::string_view name;
    if (auto error = field.unescaped_key().get(name)) return JsonError(error);
    od::value member;
    if (auto error = field.value().get(member)) return JsonError(error);
    od::json_type member_type;
    if (auto error = member.type().get(member_type)) return JsonError(error);
    absl::Status status =
        member_type == od::json_type::null ? on_null(View(name)) : read(View(name), member, path.Member(View(name)));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// Whether `name` is `expected` (Partner Center's spelling), in any case; the exact spelling is checked first.
inline bool IsMember(absl::string_view name, absl::string_view expected) {
  return name.size() == expected.size() && (name == expected || absl::EqualsIgnoreCase(name, expected));
}

// `attributes`: its objectType.
absl::Status ReadObjectType(od::value& value, const Path& path, absl::string_view* object_type) {
  *object_type = {};
  return ForEachMember(
      value, path,
      [object_type](absl::string_view name, od::value& member, const Path& member_path) {
        return IsMember(name, "objectType") ? ReadString(member, member_path, object_type) : absl::OkStatus();
      },
      [object_type](absl::string_view name) {
        if (IsMember(name, "objectType")) *object_type = {};
        return absl::OkStatus();
      });
}

absl::Status ReadBudget(od::value& value, const Path& path, Slot* slot) {
  slot->amount_present = false;  // a budget sent twice: the last one counts, whole
  slot->object_type = {};
  return ForEachMember(
      value, path,
      [slot](absl::string_view name, od::value& member, const Path& member_path) {
        if (IsMember(name, "amount")) {
          slot->amount_present = true;
          return ReadDecimal(member, member_path, &slot->amount_text, &slot->amount_owned);
        }
        if (IsMember(name, "attributes")) return ReadObjectType(member, member_path, &slot->object_type);
        return absl::OkStatus();
      },
      [slot](absl::string_view name) {
        if (IsMember(name, "amount")) slot->amount_present = false;
        if (IsMember(name, "attributes")) slot->object_type = {};
        return absl::OkStatus();
      });
}

enum class Kind { kString, kDecimal, kBudget, kBool, kTimestamp, kObjectType };

// One CustomerMonthlyUsageRecord field: Partner Center's JSON name, what it holds, its protobuf field number.
struct RecordField {
  absl::string_view name;
  Kind kind;
  int number;
};

// One line per CustomerMonthlyUsageRecord field, in field-number order (the order they are written in).
constexpr RecordField kRecordFields[] = {
    {"id", Kind::kString, 1},
    {"name", Kind::kString, 2},
    {"resourceId", Kind::kString, 3},
    {"resourceName", Kind::kString, 4},
    {"budget", Kind::kBudget, 5},
    {"customerSpendingBudget", Kind::kBudget, 6},
    {"usageSpendingBudget", Kind::kBudget, 7},
    {"percentUsed", Kind::kDecimal, 8},
    {"totalCost", Kind::kDecimal, 9},
    {"usdTotalCost", Kind::kDecimal, 10},
    {"currencyLocale", Kind::kString, 11},
    {"currencyCode", Kind::kString, 12},
    {"currencySymbol", Kind::kString, 13},
    {"isUpgraded", Kind::kBool, 14},
    {"lastModifiedDate", Kind::kTimestamp, 15},
    {"attributes", Kind::kObjectType, 16},
};
constexpr std::size_t kRecordFieldCount = sizeof(kRecordFields) / sizeof(kRecordFields[0]);
constexpr std::size_t kResourceIdField = 2;  // index of resourceId in kRecordFields

// The index in kRecordFields of the member `name`, or kRecordFieldCount for a member pcusage does not read.
std::size_t FindRecordField(absl::string_view name) {
  // Which fields have names of each length, so a member is compared with at most two names.
  static const auto* const kByLength = [] {
    auto* by_length = new std::vector<std::vector<std::size_t>>;
    for (std::size_t i = 0; i < kRecordFieldCount; ++i) {
      const std::size_t length = kRecordFields[i].name.size();
      if (by_length->size() <= length) by_length->resize(length + 1);
      (*by_length)[length].push_back(i);
    }
    return by_length;
  }();
  if (name.size() >= kByLength->size()) return kRecordFieldCount;
  for (const std::size_t i : (*kByLength)[name.size()]) {
    if (kRecordFields[i].name == name) return i;  // Partner Center's own spelling: the common case
  }
  for (const std::size_t i : (*kByLength)[name.size()]) {
    if (absl::EqualsIgnoreCase(kRecordFields[i].name, name)) return i;
  }
  return kRecordFieldCount;
}

absl::Status ReadField(const RecordField& field, od::value& value, const Path& path, Slot* slot) {
  slot->present = true;
  switch (field.kind) {
    case Kind::kString:
      return ReadString(value, path, &slot->text);
    case Kind::kDecimal:
      return ReadDecimal(value, path, &slot->text, &slot->owned);
    case Kind::kBudget:
      return ReadBudget(value, path, slot);
    case Kind::kBool:
      return ReadBool(value, path, &slot->flag);
    case Kind::kTimestamp:
      return ReadTimestamp(value, path, slot);
    case Kind::kObjectType:
      return ReadObjectType(value, path, &slot->text);
  }
  return absl::OkStatus();
}

// Protobuf wire format, the little of it a record needs, written through a pointer into a buffer the caller made
// large enough (RecordBound).
constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;

std::size_t VarintSize(uint64_t value) {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}
std::size_t BytesFieldSize(int number, std::size_t length) {
  return VarintSize(static_cast<uint64_t>(number) << 3) + VarintSize(length) + length;
}

class WireWriter {
 public:
  explicit WireWriter(char* out) : out_(out) {}

  void Varint(uint64_t value) {
    while (value >= 0x80) {
      *out_++ = static_cast<char>(value | 0x80);
      value >>= 7;
    }
    *out_++ = static_cast<char>(value);
  }
  void Tag(int number, int wire_type) { Varint(static_cast<uint64_t>(number) << 3 | static_cast<uint64_t>(wire_type)); }
  void Bytes(int number, absl::string_view bytes) {
    Tag(number, kLengthDelimited);
    Varint(bytes.size());
    std::memcpy(out_, bytes.data(), bytes.size());
    out_ += bytes.size();
  }
  // A google.type.Decimal{value} as field `number`.
  void Decimal(int number, absl::string_view value) {
    Tag(number, kLengthDelimited);
    Varint(BytesFieldSize(1, value.size()));
    Bytes(1, value);
  }
  void Budget(int number, const Slot& slot) {
    std::size_t size = slot.object_type.empty() ? 0 : BytesFieldSize(2, slot.object_type.size());
    if (slot.amount_present) size += BytesFieldSize(1, BytesFieldSize(1, slot.amount_text.size()));
    Tag(number, kLengthDelimited);
    Varint(size);
    if (slot.amount_present) Decimal(1, slot.amount_text);
    if (!slot.object_type.empty()) Bytes(2, slot.object_type);
  }
  // A google.protobuf.Timestamp (proto3: zero fields left out; negative seconds take ten bytes, as protobuf's).
  void Timestamp(int number, int64_t seconds, int32_t nanos) {
    const auto wire_seconds = static_cast<uint64_t>(seconds);
    const auto wire_nanos = static_cast<uint64_t>(static_cast<int64_t>(nanos));
    Tag(number, kLengthDelimited);
    Varint((seconds == 0 ? 0 : 1 + VarintSize(wire_seconds)) + (nanos == 0 ? 0 : 1 + VarintSize(wire_nanos)));
    if (seconds != 0) {
      Tag(1, kVarint);
      Varint(wire_seconds);
    }
    if (nanos != 0) {
      Tag(2, kVarint);
      Varint(wire_nanos);
    }
  }
  char* position() const { return out_; }

 private:
  char* out_;
};

// More than the record's serialized size: its texts plus the most any field's tags and lengths can take.
std::size_t RecordBound(const Slot (&slots)[kRecordFieldCount]) {
  constexpr std::size_t kMostOverheadPerField = 40;
  std::size_t bound = kRecordFieldCount * kMostOverheadPerField;
  for (const Slot& slot : slots) {
    if (slot.present) bound += slot.text.size() + slot.amount_text.size() + slot.object_type.size();
  }
  return bound;
}

// The record's fields in field-number order, as protobuf writes them (proto3: empty strings left out), into `out`,
// which must have room for RecordBound(slots) bytes. Returns the end of what was written.
char* EncodeRecord(const Slot (&slots)[kRecordFieldCount], char* out) {
  WireWriter writer(out);
  for (std::size_t i = 0; i < kRecordFieldCount; ++i) {
    const Slot& slot = slots[i];
    const int number = kRecordFields[i].number;
    if (!slot.present) continue;
    switch (kRecordFields[i].kind) {
      case Kind::kString:
      case Kind::kObjectType:
        if (!slot.text.empty()) writer.Bytes(number, slot.text);
        break;
      case Kind::kDecimal:
        writer.Decimal(number, slot.text);
        break;
      case Kind::kBudget:
        writer.Budget(number, slot);
        break;
      case Kind::kBool:
        writer.Tag(number, kVarint);
        writer.Varint(slot.flag ? 1 : 0);
        break;
      case Kind::kTimestamp:
        writer.Timestamp(number, slot.seconds, slot.nanos);
        break;
    }
  }
  return writer.position();
}

// Reads one item of `items` into `slots` (cleared first) and writes it, serialized, to `records`.
absl::Status ReadRecord(od::value& item, const Path& path, Slot (&slots)[kRecordFieldCount], std::vector<char>* encoded,
                        PageRecords* records) {
  absl::StatusOr<od::json_type> type = TypeOf(item);
  if (!type.ok()) return type.status();
  if (*type != od::json_type::object) return WrongType(item, *type, path, "a usage record object");
  for (Slot& slot : slots) slot.Clear();
  absl::Status status = ForEachMember(
      item, path,
      [&slots](absl::string_view name, od::value& member, const Path& member_path) {
        const std::size_t field = FindRecordField(name);
        if (field == kRecordFieldCount) return absl::OkStatus();
        return ReadField(kRecordFields[field], member, member_path, &slots[field]);
      },
      [&slots](absl::string_view name) {
        if (const std::size_t field = FindRecordField(name); field != kRecordFieldCount) slots[field].Clear();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  // Every text is written whole, so a record whose texts alone are too large is refused before it is encoded (a
  // 32 MiB name would take 32 MiB more to find that out).
  std::size_t texts = 0;
  for (const Slot& slot : slots) {
    if (!slot.present) continue;
    texts += slot.text.size() + (slot.amount_present ? slot.amount_text.size() : 0) + slot.object_type.size();
  }
  if (texts > kMaxRecordBytes) {
    return FieldError(path, absl::StrCat("the record takes more than ", texts,
                                         " bytes; pcusage sends records of at most ", kMaxRecordBytes));
  }
  encoded->resize(std::max(encoded->size(), RecordBound(slots)));
  const char* end = EncodeRecord(slots, encoded->data());
  if (const auto size = static_cast<std::size_t>(end - encoded->data()); size > kMaxRecordBytes) {
    return FieldError(
        path, absl::StrCat("the record takes ", size, " bytes; pcusage sends records of at most ", kMaxRecordBytes));
  }
  const Slot& resource_id = slots[kResourceIdField];
  records->AppendSerialized(absl::string_view(encoded->data(), static_cast<std::size_t>(end - encoded->data())),
                            resource_id.present ? resource_id.text : absl::string_view());
  return absl::OkStatus();
}

// `max_records`: MaxPageRecords of the page.
absl::Status ReadItems(od::value& value, const Path& path, std::size_t max_records, PageRecords* records) {
  absl::StatusOr<od::json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != od::json_type::array) return WrongType(value, *type, path, "an array");
  od::array items;
  if (auto error = value.get_array().get(items)) return JsonError(error);
  records->Clear();  // `items` sent twice: the last one counts
  Slot slots[kRecordFieldCount];
  std::vector<char> encoded;
  std::size_t index = 0;
  for (auto element : items) {
    if (index == max_records) {
      return FieldError(path, absl::StrCat("more than ", max_records, " records, the most a page of its size may hold",
                                           " (one for every ", kMinPageBytesPerRecord, " bytes)"));
    }
    od::value item;
    if (auto error = element.get(item)) return JsonError(error);
    if (absl::Status status = ReadRecord(item, path.Element(index++), slots, &encoded, records); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<int64_t>> ReadTotalCount(od::value& value, const Path& path) {
  absl::StatusOr<od::json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != od::json_type::number) return WrongType(value, *type, path, "a non-negative integer");
  absl::StatusOr<absl::string_view> text = NumberText(value);
  if (!text.ok()) return text.status();
  int64_t count = 0;
  if (!absl::SimpleAtoi(*text, &count) || count < 0 || text->find_first_of(".eE") != absl::string_view::npos) {
    return FieldError(path, absl::StrCat("expected a non-negative integer, got the number ", Printable(*text, 40)));
  }
  return count;
}

absl::Status ReadHeader(od::value& value, const Path& path, std::vector<http::HttpHeader>* headers) {
  std::optional<std::string> key;
  std::optional<std::string> header_value;
  absl::Status status = ForEachMember(
      value, path,
      [&](absl::string_view name, od::value& member, const Path& member_path) {
        std::optional<std::string>* out = absl::EqualsIgnoreCase(name, "key")     ? &key
                                          : absl::EqualsIgnoreCase(name, "value") ? &header_value
                                                                                  : nullptr;
        if (out == nullptr) return absl::OkStatus();
        absl::string_view text;
        if (absl::Status status = ReadString(member, member_path, &text); !status.ok()) return status;
        out->emplace(text);
        return absl::OkStatus();
      },
      [&](absl::string_view name) {
        if (absl::EqualsIgnoreCase(name, "key")) key.reset();
        if (absl::EqualsIgnoreCase(name, "value")) header_value.reset();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!key.has_value() || !header_value.has_value()) return FieldError(path, "needs both key and value");
  headers->push_back({*std::move(key), *std::move(header_value)});
  return absl::OkStatus();
}

absl::Status ReadHeaders(od::value& value, const Path& path, std::vector<http::HttpHeader>* headers) {
  absl::StatusOr<od::json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != od::json_type::array) return WrongType(value, *type, path, "an array");
  od::array entries;
  if (auto error = value.get_array().get(entries)) return JsonError(error);
  headers->clear();
  std::size_t index = 0;
  for (auto element : entries) {
    od::value entry;
    if (auto error = element.get(entry)) return JsonError(error);
    if (absl::Status status = ReadHeader(entry, path.Element(index++), headers); !status.ok()) return status;
  }
  return absl::OkStatus();
}

// links.next: its uri and headers; unset when there is no next page.
absl::StatusOr<std::optional<NextPageLink>> ReadNext(od::value& value, const Path& path) {
  std::optional<std::string> uri;
  NextPageLink link;
  absl::Status status = ForEachMember(
      value, path,
      [&](absl::string_view name, od::value& member, const Path& member_path) {
        if (absl::EqualsIgnoreCase(name, "uri")) {
          absl::string_view text;
          if (absl::Status status = ReadString(member, member_path, &text); !status.ok()) return status;
          uri.emplace(text);
          return absl::OkStatus();
        }
        if (absl::EqualsIgnoreCase(name, "headers")) return ReadHeaders(member, member_path, &link.headers);
        return absl::OkStatus();
      },
      [&](absl::string_view name) {
        if (absl::EqualsIgnoreCase(name, "uri")) uri.reset();
        if (absl::EqualsIgnoreCase(name, "headers")) link.headers.clear();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!uri.has_value()) return FieldError(path, "has no uri");
  if (uri->empty()) return FieldError(path.Member("uri"), "is empty");
  link.uri = *std::move(uri);
  return link;
}

absl::StatusOr<std::optional<NextPageLink>> ReadLinks(od::value& value, const Path& path) {
  std::optional<NextPageLink> next;
  absl::Status status = ForEachMember(
      value, path,
      [&next](absl::string_view name, od::value& member, const Path& member_path) {
        if (!absl::EqualsIgnoreCase(name, "next")) return absl::OkStatus();
        absl::StatusOr<std::optional<NextPageLink>> read = ReadNext(member, member_path);
        if (!read.ok()) return read.status();
        next = *std::move(read);
        return absl::OkStatus();
      },
      [&next](absl::string_view name) {
        if (absl::EqualsIgnoreCase(name, "next")) next.reset();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return next;
}

// The members of the collection itself: items, totalCount, links; everything else is skipped unread.
absl::Status ReadCollection(od::value& root, std::size_t max_records, UsageRecordsPage* page, bool* saw_items) {
  const Path path;
  return ForEachMember(
      root, path,
      [page, saw_items, max_records](absl::string_view name, od::value& member,
                                     const Path& member_path) -> absl::Status {
        if (absl::EqualsIgnoreCase(name, "items")) {
          *saw_items = true;
          return ReadItems(member, member_path, max_records, &page->records);
        }
        if (absl::EqualsIgnoreCase(name, "totalCount")) {
          absl::StatusOr<std::optional<int64_t>> count = ReadTotalCount(member, member_path);
          if (!count.ok()) return count.status();
          page->total_count = *count;
          return absl::OkStatus();
        }
        if (!absl::EqualsIgnoreCase(name, "links")) return absl::OkStatus();
        absl::StatusOr<std::optional<NextPageLink>> next = ReadLinks(member, member_path);
        if (!next.ok()) return next.status();
        page->next = *std::move(next);
        return absl::OkStatus();
      },
      [page, saw_items](absl::string_view name) {
        if (absl::EqualsIgnoreCase(name, "items")) {
          *saw_items = false;
          page->records.Clear();
        }
        if (absl::EqualsIgnoreCase(name, "totalCount")) page->total_count.reset();
        if (absl::EqualsIgnoreCase(name, "links")) page->next.reset();
        return absl::OkStatus();
      });
}

// What a thread reuses from page to page: the parser's buffers and a padded copy of the page. Either is dropped
// after a page larger than this, so a thread does not keep the memory of the largest page it ever read.
constexpr std::size_t kMaxKeptScratchBytes = 8 << 20;

struct Scratch {
  od::parser parser;
  std::string padded;
};

// A document that is an array or a scalar, described the way WrongType describes values.
absl::Status NotACollection(od::document& document, od::json_type type) {
  std::string got = type == od::json_type::array ? "an array" : type == od::json_type::null ? "null" : "";
  if (type == od::json_type::string) {
    std::string_view text;
    if (auto error = document.get_string().get(text)) return JsonError(error);
    got = absl::StrCat("the string \"", Printable(View(text), 40), "\"");
  } else if (type == od::json_type::number || type == od::json_type::boolean) {
    std::string_view token;
    if (auto error = document.raw_json_token().get(token)) return JsonError(error);
    got = type == od::json_type::number ? absl::StrCat("the number ", Printable(TrimJsonSpace(View(token)), 40))
                                        : std::string(TrimJsonSpace(View(token)));
  }
  return absl::InvalidArgumentError(absl::StrCat("expected a JSON object (a collection of usage records), got ", got));
}

absl::StatusOr<UsageRecordsPage> Translate(absl::string_view json, Scratch& scratch) {
  if (!simdjson::validate_utf8(json.data(), json.size())) {
    return JsonError(simdjson::UTF8_ERROR, "the page is not valid UTF-8");
  }
  scratch.padded.assign(json.data(), json.size());
  scratch.padded.resize(json.size() + simdjson::SIMDJSON_PADDING);
  od::document document;
  if (auto error = scratch.parser.iterate(scratch.padded.data(), json.size(), scratch.padded.size()).get(document)) {
    return JsonError(error);
  }
  od::json_type type;
  if (auto error = document.type().get(type)) return JsonError(error);
  if (type != od::json_type::object) return NotACollection(document, type);
  od::value root;
  if (auto error = document.get_value().get(root)) return JsonError(error);
  UsageRecordsPage page;
  // Room that is only touched as records arrive: a page's records fit in its size, and are at most MaxPageRecords.
  const std::size_t max_records = MaxPageRecords(json.size());
  page.records.Reserve(json.size(), max_records);
  bool saw_items = false;
  if (absl::Status status = ReadCollection(root, max_records, &page, &saw_items); !status.ok()) {
    return status;
  }
  if (const char* at = nullptr; !document.current_location().get(at)) {
    return JsonError(simdjson::TRAILING_CONTENT, "text follows the collection");
  }
  if (!saw_items) {
    // An error body or another shape answered with 200: ending the stream OK here would drop every record.
    return absl::InvalidArgumentError("not a collection of usage records: it has no \"items\" array");
  }
  return page;
}

}  // namespace

absl::string_view PageRecords::Entries(std::size_t begin, std::size_t end) const {
  if (begin >= end || begin >= size()) return {};
  end = std::min(end, size());
  const std::vector<Entry>& entries = storage_->entries;
  const std::size_t from = begin == 0 ? 0 : entries[begin - 1].end;
  const std::size_t to = entries[end - 1].end;
  return absl::string_view(storage_->wire).substr(from, to - from);
}

absl::string_view PageRecords::ResourceId(std::size_t i) const {
  const std::vector<Entry>& entries = storage_->entries;
  const std::size_t from = i == 0 ? 0 : entries[i - 1].resource_id_end;
  return absl::string_view(storage_->resource_ids).substr(from, entries[i].resource_id_end - from);
}

PageRecords::Storage& PageRecords::Mutable() {
  if (storage_ == nullptr) {
    storage_ = std::make_shared<Storage>();
  } else if (storage_.use_count() > 1 || storage_->was_decoded.load()) {
    auto own = std::make_shared<Storage>();
    own->wire = storage_->wire;
    own->resource_ids = storage_->resource_ids;
    own->entries = storage_->entries;
    storage_ = std::move(own);
  }
  return *storage_;
}

void PageRecords::AppendSerialized(absl::string_view record, absl::string_view resource_id) {
  Storage& storage = Mutable();
  char prefix[1 + 10];  // ListUsageRecordsResponse.usage_records: tag, length
  WireWriter writer(prefix);
  writer.Tag(1, kLengthDelimited);
  writer.Varint(record.size());
  storage.wire.append(prefix, static_cast<std::size_t>(writer.position() - prefix));
  storage.wire.append(record.data(), record.size());
  storage.resource_ids.append(resource_id.data(), resource_id.size());
  storage.entries.push_back({storage.wire.size(), storage.resource_ids.size()});
}

void PageRecords::Append(const Record& record) { AppendSerialized(record.SerializeAsString(), record.resource_id()); }

void PageRecords::Reserve(std::size_t bytes, std::size_t records) {
  Storage& storage = Mutable();
  storage.wire.reserve(bytes);
  storage.entries.reserve(records);
}

void PageRecords::Clear() {
  Storage& storage = Mutable();
  storage.wire.clear();
  storage.resource_ids.clear();
  storage.entries.clear();
}

void PageRecords::ShrinkToFit() {
  if (storage_ == nullptr) return;
  Storage& storage = Mutable();
  storage.wire.shrink_to_fit();
  storage.resource_ids.shrink_to_fit();
  storage.entries.shrink_to_fit();
}

std::size_t PageRecords::bytes() const {
  if (storage_ == nullptr) return 0;
  return storage_->wire.capacity() + storage_->resource_ids.capacity() + storage_->entries.capacity() * sizeof(Entry);
}

const std::vector<PageRecords::Record>& PageRecords::Decoded() const {
  static const std::vector<Record> kNone;
  if (storage_ == nullptr) return kNone;
  Storage& storage = *storage_;
  absl::call_once(storage.decoded_once, [&storage, this] {
    partnercenter::usage::v1::ListUsageRecordsResponse message;
    if (message.ParseFromString(std::string(Entries(0, storage.entries.size())))) {
      for (Record& record : *message.mutable_usage_records()) storage.decoded.push_back(std::move(record));
    }
    storage.was_decoded.store(true);
  });
  return storage.decoded;
}

absl::StatusOr<UsageRecordsPage> ParseUsageRecordsPage(absl::string_view json) {
  thread_local std::unique_ptr<Scratch> scratch;
  if (scratch == nullptr) scratch = std::make_unique<Scratch>();
  absl::StatusOr<UsageRecordsPage> page = Translate(json, *scratch);
  if (scratch->padded.capacity() > kMaxKeptScratchBytes || scratch->parser.capacity() > kMaxKeptScratchBytes) {
    scratch.reset();
  }
  return page;
}

}  // namespace pcusage::partner_center
