#include "tests/emulator/request_record.h"

#include <cstddef>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace pcusage::emulator {
namespace {

// What the log keeps in place of a secret.
constexpr char kRedacted[] = "[redacted]";

// Entries httplib adds to Request::headers that the client never sent.
constexpr absl::string_view kPseudoHeaders[] = {"REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"};

bool IsPseudoHeader(absl::string_view name) {
  for (absl::string_view pseudo : kPseudoHeaders) {
    if (name == pseudo) return true;
  }
  return false;
}

}  // namespace

RecordedRequest RecordRequest(const httplib::Request& request, bool token_request) {
  RecordedRequest record;
  record.method = request.method;
  record.path = request.path;
  const size_t question = request.target.find('?');
  if (question != std::string::npos) {
    record.query = request.target.substr(question + 1);
  }
  for (const auto& [name, value] : request.headers) {
    if (IsPseudoHeader(name)) continue;
    std::string& joined = record.headers[absl::AsciiStrToLower(name)];
    joined = joined.empty() ? value : absl::StrCat(joined, ", ", value);
  }
  if (token_request) {
    if (!record.query.empty()) record.query = kRedacted;
    if (const auto it = record.headers.find("authorization"); it != record.headers.end()) it->second = kRedacted;
  }
  return record;
}

}  // namespace pcusage::emulator
