#include "server/common/host_port.h"

#include <cstddef>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pcusage {

absl::StatusOr<HostAndPort> SplitHostPort(absl::string_view address) {
  HostAndPort parts;
  if (absl::StartsWith(address, "[")) {
    const std::size_t close = address.find(']');
    if (close == absl::string_view::npos || address.substr(close + 1, 1) != ":") {
      return absl::InvalidArgumentError("expected [IPv6 address]:port");
    }
    parts.host = address.substr(1, close - 1);
    parts.port = address.substr(close + 2);
    parts.bracketed = true;
    return parts;
  }
  const std::size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return absl::InvalidArgumentError("expected host:port");
  parts.host = address.substr(0, colon);
  parts.port = address.substr(colon + 1);
  if (absl::StrContains(parts.host, ":")) {
    return absl::InvalidArgumentError("write an IPv6 address in brackets, [::1]:port");
  }
  return parts;
}

std::string JoinHostPort(absl::string_view host, int port) {
  return absl::StrContains(host, ':') ? absl::StrCat("[", host, "]:", port) : absl::StrCat(host, ":", port);
}

}  // namespace pcusage
