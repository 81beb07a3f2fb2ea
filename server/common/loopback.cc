#include "server/common/loopback.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace pcusage {
namespace {

bool IsLoopbackSocketAddress(const struct sockaddr& address) {
  if (address.sa_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const struct sockaddr_in&>(address);
    return (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
  }
  if (address.sa_family == AF_INET6) {
    const struct in6_addr& v6 = reinterpret_cast<const struct sockaddr_in6&>(address).sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

}  // namespace

bool IsLoopbackHost(absl::string_view host) {
  if (absl::EqualsIgnoreCase(host, "localhost") || host == "::1" || host == "[::1]") return true;
  std::vector<absl::string_view> octets = absl::StrSplit(host, '.');
  if (octets.size() != 4 || octets[0] != "127") return false;
  return std::all_of(octets.begin(), octets.end(), [](absl::string_view octet) {
    int value = 0;
    return !octet.empty() && octet.size() <= 3 && absl::SimpleAtoi(octet, &value) && value >= 0 && value <= 255;
  });
}

bool IsLoopbackUrl(absl::string_view url) {
  if (!absl::ConsumePrefix(&url, "http://") && !absl::ConsumePrefix(&url, "https://")) return false;
  absl::string_view authority = url.substr(0, url.find_first_of("/?#"));
  if (absl::StrContains(authority, "@")) return false;
  if (absl::StartsWith(authority, "[")) return IsLoopbackHost(authority.substr(0, authority.find(']') + 1));
  return IsLoopbackHost(authority.substr(0, authority.find(':')));
}

absl::StatusOr<ListenAddress> ResolveListenAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) {
    return ListenAddress{std::string(address), true};
  }
  const auto malformed = [address](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("\"", address, "\" is not a listen address: ", why));
  };
  absl::string_view host;
  absl::string_view port;
  if (absl::StartsWith(address, "[")) {
    const std::size_t close = address.find(']');
    if (close == absl::string_view::npos || address.substr(close + 1, 1) != ":") {
      return malformed("expected [IPv6 address]:port");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const std::size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return malformed("expected host:port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (absl::StrContains(host, ":")) return malformed("write an IPv6 address in brackets, [::1]:port");
  }
  int port_number = 0;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
      !absl::SimpleAtoi(port, &port_number) || port_number > 65535) {
    return malformed("the port must be a number from 0 to 65535 (0 picks a free one)");
  }
  if (host.empty()) return malformed("name the host (0.0.0.0 or [::] for every interface, 127.0.0.1 for this one)");

  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* found = nullptr;
  const std::string host_text(host);
  if (const int error = getaddrinfo(host_text.c_str(), nullptr, &hints, &found); error != 0 || found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve the host of listen address \"", address, "\": ", gai_strerror(error)));
  }
  std::unique_ptr<struct addrinfo, decltype(&freeaddrinfo)> results(found, &freeaddrinfo);
  char numeric[NI_MAXHOST];
  if (getnameinfo(found->ai_addr, found->ai_addrlen, numeric, sizeof numeric, nullptr, 0, NI_NUMERICHOST) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot use the address \"", address, "\" resolves to"));
  }
  ListenAddress resolved;
  resolved.bind = found->ai_family == AF_INET6 ? absl::StrCat("[", numeric, "]:", port_number)
                                               : absl::StrCat(numeric, ":", port_number);
  resolved.loopback = IsLoopbackSocketAddress(*found->ai_addr);
  return resolved;
}

}  // namespace pcusage
