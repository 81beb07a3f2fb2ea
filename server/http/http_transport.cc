#include "server/http/http_transport.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pcusage::http {

std::string RedactedUrl(absl::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  std::size_t authority = url.find("://");
  authority = authority == absl::string_view::npos ? 0 : authority + 3;
  const std::size_t authority_end = std::min(url.find('/', authority), url.size());
  const std::size_t at = url.substr(authority, authority_end - authority).rfind('@');
  if (at == absl::string_view::npos) return std::string(url);
  return absl::StrCat(url.substr(0, authority), url.substr(authority + at + 1));
}

bool IsHttpHeaderName(absl::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::StrContains("!#$%&'*+-.^_`|~", c);
  });
}

std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  for (const HttpHeader& header : headers) {
    if (absl::EqualsIgnoreCase(header.name, name)) return header.value;
  }
  return std::nullopt;
}

}  // namespace pcusage::http
