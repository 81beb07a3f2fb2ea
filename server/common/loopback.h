// Whether an address stays on this machine: the one exception to "upstream over https only" (tests and the
// emulator) and to "callers must be authenticated" (a listener only local processes can reach).
#ifndef PCUSAGE_SERVER_COMMON_LOOPBACK_H_
#define PCUSAGE_SERVER_COMMON_LOOPBACK_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pcusage {

// A numeric loopback address: IPv4 in 127.0.0.0/8 (dotted decimal), IPv6 ::1 or ::ffff:127.0.0.0/104, bracketed
// or not. Never a name, "localhost" included: what a name resolves to is up to the resolver and its files.
bool IsLoopbackAddress(absl::string_view host);

// An http:// or https:// URL (scheme in any case) whose host, as libcurl's URL parser reads it (the parser the
// transport sends the request with, so the two cannot disagree), is a loopback address: IsLoopbackAddress after
// libcurl's normalization (127.1, 0x7f.0.0.1 and 2130706433 are 127.0.0.1; [0:0:0:0:0:0:0:1] is [::1]). Userinfo
// is not the host ("http://127.0.0.1@evil.example/" is evil.example's), and neither a name nor a host with a
// trailing dot ("127.0.0.1.") is loopback. False for a URL libcurl cannot parse.
bool IsLoopbackUrl(absl::string_view url);

// A --listen address made into the one address the server binds.
struct ListenAddress {
  // What gRPC is asked to bind: a numeric host:port ("127.0.0.1:0", "[::1]:50051"), or the unix: address as given.
  std::string bind;
  // Only processes on this machine can reach `bind`: an address in 127.0.0.0/8, ::1 (or ::ffff:127.0.0.0/104), or a
  // unix socket.
  bool loopback = false;
};

// Resolves a gRPC listen address (host:port, [v6]:port, unix:path, unix-abstract:name) once. A host name becomes the
// first address the system's resolver gives for it, so exactly one socket is bound (handed a name, gRPC binds every
// address it resolves to, and with port 0 a second, unreported port), and whether the listener is loopback is
// decided by the address bound, never by the name's text (a "localhost" resolving to 0.0.0.0 is not loopback).
// INVALID_ARGUMENT when `address` is not host:port with a port of 0 to 65535, or its host does not resolve.
absl::StatusOr<ListenAddress> ResolveListenAddress(absl::string_view address);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_LOOPBACK_H_
