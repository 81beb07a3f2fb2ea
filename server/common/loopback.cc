#include "server/common/loopback.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace pcusage {

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

bool IsLoopbackListenAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:")) return true;
  if (absl::StartsWith(address, "[")) return IsLoopbackHost(address.substr(0, address.find(']') + 1));
  return IsLoopbackHost(address.substr(0, address.rfind(':')));
}

}  // namespace pcusage
