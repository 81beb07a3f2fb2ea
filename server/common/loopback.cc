#include "server/common/loopback.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/common/host_port.h"

namespace pcusage {
namespace {

bool HasNul(absl::string_view text) { return text.find('\0') != absl::string_view::npos; }

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

bool IsLoopbackAddress(absl::string_view host) {
  if (absl::ConsumePrefix(&host, "[") && !absl::ConsumeSuffix(&host, "]")) return false;
  const std::string text(host);
  struct sockaddr_in v4 {};
  struct sockaddr_in6 v6 {};
  if (inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    return IsLoopbackSocketAddress(reinterpret_cast<const struct sockaddr&>(v4));
  }
  if (inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    return IsLoopbackSocketAddress(reinterpret_cast<const struct sockaddr&>(v6));
  }
  return false;
}

bool IsLoopbackUrl(absl::string_view url) {
  const std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), &curl_url_cleanup);
  if (parsed == nullptr || HasNul(url)) return false;
  const std::string text(url);
  // No guessing a scheme: "127.0.0.1/x" is no URL.
  if (curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) return false;
  const auto part = [&parsed](CURLUPart which) {
    char* value = nullptr;
    if (curl_url_get(parsed.get(), which, &value, 0) != CURLUE_OK || value == nullptr) return std::string();
    std::string copy(value);
    curl_free(value);
    return copy;
  };
  const std::string scheme = absl::AsciiStrToLower(part(CURLUPART_SCHEME));  // libcurl lower-cases it already
  return (scheme == "http" || scheme == "https") && IsLoopbackAddress(part(CURLUPART_HOST));
}

absl::StatusOr<ListenAddress> ResolveListenAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) {
    return ListenAddress{std::string(address), true};
  }
  const auto malformed = [address](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("\"", address, "\" is not a listen address: ", why));
  };
  absl::StatusOr<HostAndPort> parts = SplitHostPort(address);
  if (!parts.ok()) return malformed(parts.status().message());
  const absl::string_view host = parts->host;
  const absl::string_view port = parts->port;
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
  resolved.bind = JoinHostPort(numeric, port_number);
  resolved.loopback = IsLoopbackSocketAddress(*found->ai_addr);
  return resolved;
}

}  // namespace pcusage
