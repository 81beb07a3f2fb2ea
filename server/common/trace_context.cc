#include "server/common/trace_context.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_split.h"

namespace pcusage {
namespace {

bool IsLowerHex(absl::string_view text, std::size_t length) {
  return text.size() == length &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool AllZeros(absl::string_view text) { return text.find_first_not_of('0') == absl::string_view::npos; }

}  // namespace

std::optional<std::string> TraceIdFromTraceparent(absl::string_view traceparent) {
  const std::vector<absl::string_view> fields = absl::StrSplit(traceparent, '-');
  if (fields.size() < 4) return std::nullopt;
  const absl::string_view version = fields[0];
  if (!IsLowerHex(version, 2) || version == "ff") return std::nullopt;
  // Version 00 has exactly four fields; later versions may append more, after the same four.
  if (version == "00" && fields.size() != 4) return std::nullopt;
  if (!IsLowerHex(fields[1], 32) || !IsLowerHex(fields[2], 16) || !IsLowerHex(fields[3], 2)) return std::nullopt;
  if (AllZeros(fields[1]) || AllZeros(fields[2])) return std::nullopt;
  return std::string(fields[1]);
}

}  // namespace pcusage
