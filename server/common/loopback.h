// Whether an address stays on this machine: the one exception to "upstream over https only" (tests and the
// emulator) and to "callers must be authenticated" (a listener only local processes can reach).
#ifndef PCUSAGE_SERVER_COMMON_LOOPBACK_H_
#define PCUSAGE_SERVER_COMMON_LOOPBACK_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pcusage {

// "localhost", 127.0.0.0/8 or ::1 (bracketed or not).
bool IsLoopbackHost(absl::string_view host);

// The host of an http(s)://host[:port]/... URL is a loopback host.
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
