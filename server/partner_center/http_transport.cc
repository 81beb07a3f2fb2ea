#include "server/partner_center/http_transport.h"

#include "absl/strings/match.h"

namespace pcusage::partner_center {

std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  for (const HttpHeader& header : headers) {
    if (absl::EqualsIgnoreCase(header.name, name)) return header.value;
  }
  return std::nullopt;
}

}  // namespace pcusage::partner_center
