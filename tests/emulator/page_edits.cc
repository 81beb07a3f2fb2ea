#include "tests/emulator/page_edits.h"

#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace pcusage::emulator {
namespace {

// Where a value lies in the text: [begin, end).
struct Span {
  size_t begin;
  size_t end;
};

// The character at `pos`, or '\0' past the end.
char CharAt(absl::string_view json, size_t pos) { return pos < json.size() ? json[pos] : '\0'; }

size_t SkipSpace(absl::string_view json, size_t pos) {
  while (pos < json.size() && absl::ascii_isspace(static_cast<unsigned char>(json[pos]))) ++pos;
  return pos;
}

// The position just past the string literal that starts at `pos`.
size_t SkipString(absl::string_view json, size_t pos) {
  for (++pos; pos < json.size(); ++pos) {
    if (json[pos] == '\\') {
      ++pos;
    } else if (json[pos] == '"') {
      return pos + 1;
    }
  }
  return json.size();
}

// The position just past the value that starts at `pos`.
size_t SkipValue(absl::string_view json, size_t pos) {
  const char first = CharAt(json, pos);
  if (first == '"') return SkipString(json, pos);
  if (first == '{' || first == '[') {
    int depth = 0;
    while (pos < json.size()) {
      const char c = json[pos];
      if (c == '"') {
        pos = SkipString(json, pos);
        continue;
      }
      ++pos;
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return pos;
      }
    }
    return pos;
  }
  while (pos < json.size() && absl::string_view(",}] \t\r\n").find(json[pos]) == absl::string_view::npos) ++pos;
  return pos;
}

// The value of member `name` of the object that starts at `object`.
std::optional<Span> FindMember(absl::string_view json, size_t object, absl::string_view name) {
  if (CharAt(json, object) != '{') return std::nullopt;
  size_t pos = SkipSpace(json, object + 1);
  while (CharAt(json, pos) == '"') {
    const size_t name_end = SkipString(json, pos);
    const absl::string_view member = json.substr(pos + 1, name_end - pos - 2);
    pos = SkipSpace(json, name_end);
    if (CharAt(json, pos) != ':') return std::nullopt;
    const size_t value = SkipSpace(json, pos + 1);
    const size_t value_end = SkipValue(json, value);
    if (member == name) return Span{value, value_end};
    pos = SkipSpace(json, value_end);
    if (CharAt(json, pos) == ',') pos = SkipSpace(json, pos + 1);
  }
  return std::nullopt;
}

// What goes between an element put first in the object or array that starts at `container` and the elements
// already there.
absl::string_view SeparatorAfterFirst(absl::string_view json, size_t container) {
  const char next = CharAt(json, SkipSpace(json, container + 1));
  return next == '}' || next == ']' ? "" : ", ";
}

// `json` with `element` put first in the object or array that starts at `container`.
std::string InsertFirst(absl::string_view json, size_t container, absl::string_view element) {
  return absl::StrCat(json.substr(0, container + 1), element, SeparatorAfterFirst(json, container),
                      json.substr(container + 1));
}

std::string Replace(absl::string_view json, Span span, absl::string_view value) {
  return absl::StrCat(json.substr(0, span.begin), value, json.substr(span.end));
}

}  // namespace

std::string WithWrongTypedCost(absl::string_view page) {
  constexpr absl::string_view kWrongItem = R"({"totalCost": true})";
  const size_t root = SkipSpace(page, 0);
  const std::optional<Span> items = FindMember(page, root, "items");
  if (!items.has_value()) return InsertFirst(page, root, absl::StrCat(R"("items": [)", kWrongItem, "]"));
  const size_t first_item = SkipSpace(page, items->begin + 1);
  if (CharAt(page, first_item) != '{') return InsertFirst(page, items->begin, kWrongItem);
  if (const std::optional<Span> cost = FindMember(page, first_item, "totalCost"); cost.has_value()) {
    return Replace(page, *cost, "true");
  }
  return InsertFirst(page, first_item, R"("totalCost": true)");
}

std::string WithNextLink(absl::string_view page, absl::string_view next_link) {
  const size_t root = SkipSpace(page, 0);
  const std::optional<Span> links = FindMember(page, root, "links");
  if (!links.has_value()) return InsertFirst(page, root, absl::StrCat(R"("links": {"next": )", next_link, "}"));
  if (const std::optional<Span> next = FindMember(page, links->begin, "next"); next.has_value()) {
    return Replace(page, *next, next_link);
  }
  return InsertFirst(page, links->begin, absl::StrCat(R"("next": )", next_link));
}

PaddedPage PadPage(absl::string_view page) {
  const size_t root = SkipSpace(page, 0);
  return PaddedPage{absl::StrCat(page.substr(0, root + 1), R"("padding": ")"),
                    absl::StrCat("\"", SeparatorAfterFirst(page, root), page.substr(root + 1))};
}

}  // namespace pcusage::emulator
