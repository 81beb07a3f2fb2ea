#include "server/partner_center/usage_records_parser.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/printable.h"
#include "server/partner_center/json_scalars.h"

namespace pcusage::partner_center {
namespace {

namespace v1 = ::partnercenter::usage::v1;

// A JSON value as the SAX parser saw it; numbers keep their source text.
struct JsonNode {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text;  // a number's source text, or a string's value
  std::vector<std::pair<std::string, JsonNode>> members;
  std::vector<JsonNode> elements;

  static JsonNode Of(Kind kind) {
    JsonNode node;
    node.kind = kind;
    return node;
  }
};

std::string Describe(const JsonNode& node) {
  switch (node.kind) {
    case JsonNode::Kind::kNull:
      return "null";
    case JsonNode::Kind::kBool:
      return node.boolean ? "true" : "false";
    case JsonNode::Kind::kNumber:
      return absl::StrCat("the number ", Printable(node.text, 40));
    case JsonNode::Kind::kString:
      return absl::StrCat("the string \"", Printable(node.text, 40), "\"");
    case JsonNode::Kind::kArray:
      return "an array";
    case JsonNode::Kind::kObject:
      return "an object";
  }
  return "an unknown value";
}

absl::Status WrongType(const std::string& path, absl::string_view expected, const JsonNode& got) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": expected ", expected, ", got ", Describe(got)));
}

absl::Status ReadString(const JsonNode& node, const std::string& path, std::string* out) {
  if (node.kind != JsonNode::Kind::kString) return WrongType(path, "a string", node);
  *out = node.text;
  return absl::OkStatus();
}

// Numbers and numeric strings (Partner Center sometimes quotes decimals) become exact Decimal values.
absl::Status ReadDecimal(const JsonNode& node, const std::string& path, google::type::Decimal* out) {
  if (node.kind != JsonNode::Kind::kNumber && node.kind != JsonNode::Kind::kString) {
    return WrongType(path, "a decimal number", node);
  }
  absl::StatusOr<std::string> value = NormalizeDecimal(node.text);
  if (!value.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", value.status().message()));
  out->set_value(*std::move(value));
  return absl::OkStatus();
}

absl::Status ReadTimestamp(const JsonNode& node, const std::string& path, google::protobuf::Timestamp* out) {
  if (node.kind != JsonNode::Kind::kString) return WrongType(path, "an RFC 3339 date-time string", node);
  absl::StatusOr<google::protobuf::Timestamp> value = ParseRfc3339Timestamp(node.text);
  if (!value.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", value.status().message()));
  *out = *std::move(value);
  return absl::OkStatus();
}

// Calls `read` for each member of `object` whose name, compared case-insensitively, is a key of `readers`.
// Null members are absent; other members are ignored (Partner Center adds fields without notice).
template <typename Message>
using MemberReader = std::function<absl::Status(const JsonNode&, const std::string&, Message*)>;

template <typename Message>
absl::Status ReadMembers(const JsonNode& object, const std::string& path,
                         const absl::flat_hash_map<std::string, MemberReader<Message>>& readers, Message* out) {
  if (object.kind != JsonNode::Kind::kObject) return WrongType(path, "an object", object);
  for (const auto& [name, value] : object.members) {
    if (value.kind == JsonNode::Kind::kNull) continue;
    auto reader = readers.find(absl::AsciiStrToLower(name));
    if (reader == readers.end()) continue;
    absl::Status status = reader->second(value, absl::StrCat(path, ".", Printable(name, 64)), out);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// Reads `attributes.objectType` into `set_object_type`.
template <typename Message>
MemberReader<Message> ObjectTypeReader() {
  return [](const JsonNode& node, const std::string& path, Message* out) {
    static const auto* const kReaders = new absl::flat_hash_map<std::string, MemberReader<Message>>{
        {"objecttype", [](const JsonNode& n, const std::string& p, Message* m) {
           return ReadString(n, p, m->mutable_object_type());
         }}};
    return ReadMembers(node, path, *kReaders, out);
  };
}

absl::Status ReadBudget(const JsonNode& node, const std::string& path, v1::SpendingBudget* out) {
  static const auto* const kReaders = new absl::flat_hash_map<std::string, MemberReader<v1::SpendingBudget>>{
      {"amount", [](const JsonNode& n, const std::string& p,
                    v1::SpendingBudget* m) { return ReadDecimal(n, p, m->mutable_amount()); }},
      {"attributes", ObjectTypeReader<v1::SpendingBudget>()},
  };
  return ReadMembers(node, path, *kReaders, out);
}

using RecordReaders = absl::flat_hash_map<std::string, MemberReader<v1::CustomerMonthlyUsageRecord>>;

// One entry per CustomerMonthlyUsageRecord field; `name` is Partner Center's JSON name, lowercased.
const RecordReaders& RecordFieldReaders() {
  using Record = v1::CustomerMonthlyUsageRecord;
  using StringField = std::string* (Record::*)();
  using DecimalField = google::type::Decimal* (Record::*)();
  using BudgetField = v1::SpendingBudget* (Record::*)();
  static const auto* const kReaders = [] {
    auto* readers = new RecordReaders;
    auto add_string = [readers](const std::string& name, StringField field) {
      (*readers)[name] = [field](const JsonNode& n, const std::string& p, Record* r) {
        return ReadString(n, p, (r->*field)());
      };
    };
    auto add_decimal = [readers](const std::string& name, DecimalField field) {
      (*readers)[name] = [field](const JsonNode& n, const std::string& p, Record* r) {
        return ReadDecimal(n, p, (r->*field)());
      };
    };
    auto add_budget = [readers](const std::string& name, BudgetField field) {
      (*readers)[name] = [field](const JsonNode& n, const std::string& p, Record* r) {
        return ReadBudget(n, p, (r->*field)());
      };
    };
    add_string("id", &Record::mutable_id);
    add_string("name", &Record::mutable_name);
    add_string("resourceid", &Record::mutable_resource_id);
    add_string("resourcename", &Record::mutable_resource_name);
    add_string("currencylocale", &Record::mutable_currency_locale);
    add_string("currencycode", &Record::mutable_currency_code);
    add_string("currencysymbol", &Record::mutable_currency_symbol);
    add_budget("budget", &Record::mutable_budget);
    add_budget("customerspendingbudget", &Record::mutable_customer_spending_budget);
    add_budget("usagespendingbudget", &Record::mutable_usage_spending_budget);
    add_decimal("percentused", &Record::mutable_percent_used);
    add_decimal("totalcost", &Record::mutable_total_cost);
    add_decimal("usdtotalcost", &Record::mutable_usd_total_cost);
    (*readers)["isupgraded"] = [](const JsonNode& n, const std::string& p, Record* r) {
      if (n.kind != JsonNode::Kind::kBool) return WrongType(p, "true or false", n);
      r->set_is_upgraded(n.boolean);
      return absl::OkStatus();
    };
    (*readers)["lastmodifieddate"] = [](const JsonNode& n, const std::string& p, Record* r) {
      return ReadTimestamp(n, p, r->mutable_last_modified_time());
    };
    (*readers)["attributes"] = ObjectTypeReader<Record>();
    return readers;
  }();
  return *kReaders;
}

absl::StatusOr<v1::CustomerMonthlyUsageRecord> TranslateRecord(const JsonNode& item, const std::string& path) {
  v1::CustomerMonthlyUsageRecord record;
  absl::Status status = ReadMembers(item, path, RecordFieldReaders(), &record);
  if (!status.ok()) return status;
  return record;
}

const JsonNode* FindMember(const JsonNode& object, absl::string_view name) {
  const JsonNode* found = nullptr;
  for (const auto& [key, value] : object.members) {
    if (absl::EqualsIgnoreCase(key, name)) found = &value;
  }
  return found;
}

absl::StatusOr<std::optional<NextPageLink>> TranslateNextLink(const JsonNode& root) {
  const JsonNode* links = FindMember(root, "links");
  if (links == nullptr || links->kind == JsonNode::Kind::kNull) return std::nullopt;
  if (links->kind != JsonNode::Kind::kObject) return WrongType("links", "an object", *links);
  const JsonNode* next = FindMember(*links, "next");
  if (next == nullptr || next->kind == JsonNode::Kind::kNull) return std::nullopt;
  if (next->kind != JsonNode::Kind::kObject) return WrongType("links.next", "an object", *next);

  NextPageLink link;
  const JsonNode* uri = FindMember(*next, "uri");
  if (uri == nullptr || uri->kind == JsonNode::Kind::kNull) {
    return absl::InvalidArgumentError("links.next: has no uri");
  }
  if (absl::Status status = ReadString(*uri, "links.next.uri", &link.uri); !status.ok()) return status;
  if (link.uri.empty()) return absl::InvalidArgumentError("links.next.uri: is empty");

  const JsonNode* headers = FindMember(*next, "headers");
  if (headers == nullptr || headers->kind == JsonNode::Kind::kNull) return link;
  if (headers->kind != JsonNode::Kind::kArray) return WrongType("links.next.headers", "an array", *headers);
  for (std::size_t i = 0; i < headers->elements.size(); ++i) {
    const std::string path = absl::StrCat("links.next.headers[", i, "]");
    const JsonNode& entry = headers->elements[i];
    if (entry.kind != JsonNode::Kind::kObject) return WrongType(path, "an object", entry);
    const JsonNode* key = FindMember(entry, "key");
    const JsonNode* value = FindMember(entry, "value");
    if (key == nullptr || value == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": needs both key and value"));
    }
    http::HttpHeader header;
    if (absl::Status status = ReadString(*key, path + ".key", &header.name); !status.ok()) return status;
    if (absl::Status status = ReadString(*value, path + ".value", &header.value); !status.ok()) return status;
    link.headers.push_back(std::move(header));
  }
  return link;
}

absl::StatusOr<std::optional<int64_t>> TranslateTotalCount(const JsonNode& root) {
  const JsonNode* total = FindMember(root, "totalCount");
  if (total == nullptr || total->kind == JsonNode::Kind::kNull) return std::nullopt;
  int64_t count = 0;
  if (total->kind != JsonNode::Kind::kNumber || !absl::SimpleAtoi(total->text, &count) || count < 0) {
    return WrongType("totalCount", "a non-negative integer", *total);
  }
  return count;
}

// Deepest nesting kept inside a value pcusage reads (a record, `links`); Partner Center's go 4 levels deep.
constexpr std::size_t kMaxKeptDepth = 16;

// Builds JsonNodes from SAX events for the parts of a page pcusage reads (`totalCount`, `links`, the known fields of
// each item) and skips everything else without storing it, however large or deep. Each element of the top-level
// `items` array is translated into a record as soon as it is complete and then dropped, so a page never exists
// twice in memory.
class PageSaxHandler final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit PageSaxHandler(UsageRecordsPage* page) : page_(page) {}

  bool null() override { return Scalar(JsonNode{}); }
  bool boolean(bool value) override {
    JsonNode node = JsonNode::Of(JsonNode::Kind::kBool);
    node.boolean = value;
    return Scalar(std::move(node));
  }
  bool number_integer(number_integer_t value) override { return Number(std::to_string(value)); }
  bool number_unsigned(number_unsigned_t value) override { return Number(std::to_string(value)); }
  bool number_float(number_float_t, const string_t& text) override { return Number(text); }
  bool string(string_t& value) override {
    JsonNode node = JsonNode::Of(JsonNode::Kind::kString);
    node.text = std::move(value);
    return Scalar(std::move(node));
  }
  bool binary(binary_t&) override { return Fail(absl::InvalidArgumentError("unexpected binary value")); }

  bool start_object(std::size_t) override { return Open(JsonNode::Kind::kObject); }
  bool start_array(std::size_t) override { return Open(JsonNode::Kind::kArray); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }

  bool key(string_t& name) override {
    if (skip_depth_ > 0) return true;
    skip_next_value_ = !IsKept(name);
    open_.back().key = std::move(name);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& error) override {
    // nlohmann's message starts with "[json.exception.parse_error.101] "; the rest says what was wrong.
    absl::string_view what = error.what();
    if (std::size_t bracket = what.find("] "); bracket != absl::string_view::npos) what.remove_prefix(bracket + 2);
    return Fail(
        absl::InvalidArgumentError(absl::StrCat("not valid JSON (byte ", position, "): ", Printable(what, 200))));
  }

  const absl::Status& status() const { return status_; }
  std::optional<JsonNode>& root() { return root_; }

 private:
  struct Frame {
    JsonNode node;
    std::string key;  // the member name the next value belongs to, in an object
  };

  // Which members are kept: at the top level `items`, `links` and `totalCount`; in an item, the fields a
  // CustomerMonthlyUsageRecord has; everything inside those.
  bool IsKept(absl::string_view name) const {
    if (open_.size() == 1) {
      return absl::EqualsIgnoreCase(name, "items") || absl::EqualsIgnoreCase(name, "links") ||
             absl::EqualsIgnoreCase(name, "totalCount");
    }
    if (open_.size() == 3 && InTopLevelItems(2)) return RecordFieldReaders().contains(absl::AsciiStrToLower(name));
    return true;
  }

  // Whether the first `depth` open frames are the top-level object and its `items` array.
  bool InTopLevelItems(std::size_t depth) const {
    return open_.size() >= depth && depth >= 2 && open_[0].node.kind == JsonNode::Kind::kObject &&
           open_[1].node.kind == JsonNode::Kind::kArray && absl::EqualsIgnoreCase(open_[0].key, "items");
  }

  bool Open(JsonNode::Kind kind) {
    if (skip_depth_ > 0 || skip_next_value_) {
      skip_next_value_ = false;
      ++skip_depth_;
      return true;
    }
    if (open_.size() >= kMaxKeptDepth) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("values are nested more than ", kMaxKeptDepth, " levels deep where records are read")));
    }
    open_.push_back(Frame{JsonNode::Of(kind), {}});
    return true;
  }

  bool Close() {
    if (skip_depth_ > 0) {
      --skip_depth_;
      return true;
    }
    JsonNode node = std::move(open_.back().node);
    open_.pop_back();
    return Emit(std::move(node));
  }

  bool Scalar(JsonNode value) {
    if (skip_depth_ > 0) return true;
    if (skip_next_value_) {
      skip_next_value_ = false;
      return true;
    }
    return Emit(std::move(value));
  }

  bool Number(std::string text) {
    JsonNode node = JsonNode::Of(JsonNode::Kind::kNumber);
    node.text = std::move(text);
    return Scalar(std::move(node));
  }

  bool Emit(JsonNode value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return true;
    }
    if (open_.size() == 2 && InTopLevelItems(2)) {
      const std::string path = absl::StrCat("items[", next_item_index_++, "]");
      if (value.kind != JsonNode::Kind::kObject) return Fail(WrongType(path, "a usage record object", value));
      absl::StatusOr<v1::CustomerMonthlyUsageRecord> record = TranslateRecord(value, path);
      if (!record.ok()) return Fail(record.status());
      page_->records.push_back(*std::move(record));
      return true;
    }
    Frame& parent = open_.back();
    if (parent.node.kind == JsonNode::Kind::kArray) {
      parent.node.elements.push_back(std::move(value));
    } else {
      parent.node.members.emplace_back(std::move(parent.key), std::move(value));
    }
    return true;
  }

  bool Fail(absl::Status status) {
    if (status_.ok()) status_ = std::move(status);
    return false;
  }

  UsageRecordsPage* page_;
  std::vector<Frame> open_;
  std::size_t skip_depth_ = 0;    // > 0 while inside a skipped object or array
  bool skip_next_value_ = false;  // the value after the last key is skipped
  std::optional<JsonNode> root_;
  std::size_t next_item_index_ = 0;
  absl::Status status_;
};

}  // namespace

absl::StatusOr<UsageRecordsPage> ParseUsageRecordsPage(absl::string_view json) {
  UsageRecordsPage page;
  PageSaxHandler handler(&page);
  nlohmann::json::sax_parse(json.begin(), json.end(), &handler);
  if (!handler.status().ok()) return handler.status();
  if (!handler.root().has_value() || handler.root()->kind != JsonNode::Kind::kObject) {
    return absl::InvalidArgumentError(absl::StrCat("expected a JSON object (a collection of usage records), got ",
                                                   handler.root().has_value() ? Describe(*handler.root()) : "nothing"));
  }
  const JsonNode& root = *handler.root();
  const JsonNode* items = FindMember(root, "items");
  if (items == nullptr || items->kind == JsonNode::Kind::kNull) {
    // An error body or another shape answered with 200: ending the stream OK here would drop every record.
    return absl::InvalidArgumentError("not a collection of usage records: it has no \"items\" array");
  }
  if (items->kind != JsonNode::Kind::kArray) return WrongType("items", "an array", *items);

  absl::StatusOr<std::optional<int64_t>> total_count = TranslateTotalCount(root);
  if (!total_count.ok()) return total_count.status();
  page.total_count = *total_count;

  absl::StatusOr<std::optional<NextPageLink>> next = TranslateNextLink(root);
  if (!next.ok()) return next.status();
  page.next = *std::move(next);
  return page;
}

}  // namespace pcusage::partner_center
