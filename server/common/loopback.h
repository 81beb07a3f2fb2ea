// Whether an address stays on this machine: the one exception to "upstream over https only" (tests and the
// emulator) and to "callers must be authenticated" (a listener only local processes can reach).
#ifndef PCUSAGE_SERVER_COMMON_LOOPBACK_H_
#define PCUSAGE_SERVER_COMMON_LOOPBACK_H_

#include "absl/strings/string_view.h"

namespace pcusage {

// "localhost", 127.0.0.0/8 or ::1 (bracketed or not).
bool IsLoopbackHost(absl::string_view host);

// The host of an http(s)://host[:port]/... URL is a loopback host.
bool IsLoopbackUrl(absl::string_view url);

// A gRPC listen address (host:port, [v6]:port, unix:...) only reachable from this machine.
bool IsLoopbackListenAddress(absl::string_view address);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_LOOPBACK_H_
