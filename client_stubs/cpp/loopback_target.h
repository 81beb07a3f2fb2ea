// Whether a gRPC target is on this machine, for pcusage_cli's rule that an API key travels in plaintext only to
// loopback. Decided by addresses, not by the text: "localhost" counts only when every address it resolves to is a
// loopback one (a hosts file can map it elsewhere); other names never count, since what gRPC later resolves them to
// may differ from what this check saw.
#ifndef PCUSAGE_CLIENT_STUBS_CPP_LOOPBACK_TARGET_H_
#define PCUSAGE_CLIENT_STUBS_CPP_LOOPBACK_TARGET_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace pcusage::client {

// The numeric addresses (e.g. "127.0.0.1", "::1") a host name resolves to; empty when it does not resolve.
using HostResolver = std::function<std::vector<std::string>(const std::string& host)>;

// The system's resolver (getaddrinfo: the hosts file, then DNS).
std::vector<std::string> ResolveHost(const std::string& host);

// Whether `target` (host:port, [v6]:port, a bare host, with or without a "dns:" or "passthrough:" scheme, or a
// "unix:" socket) reaches only this machine: a loopback IP literal, a unix socket, or "localhost" resolving to
// loopback addresses only.
bool IsLoopbackTarget(absl::string_view target, const HostResolver& resolve = ResolveHost);

}  // namespace pcusage::client

#endif  // PCUSAGE_CLIENT_STUBS_CPP_LOOPBACK_TARGET_H_
