// "host:port" text, split and joined the one way the server reads and writes it: an IPv6 host in brackets
// ("[::1]:50051"), any other host bare. --listen and the Redis URL are read with it, and logs name peers with it.
#ifndef PCUSAGE_SERVER_COMMON_HOST_PORT_H_
#define PCUSAGE_SERVER_COMMON_HOST_PORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pcusage {

// The parts of "host:port" or "[host]:port", views into the text split. Neither is checked beyond the split: the
// port may be empty or not a number, the host empty or a name in brackets; callers check what they need.
struct HostAndPort {
  absl::string_view host;  // without brackets
  absl::string_view port;
  bool bracketed = false;
};

// Splits at the colon before the port. INVALID_ARGUMENT, saying what to write, when a '[' has no "]:" after it, there
// is no colon, or a host outside brackets holds a ':' (an IPv6 address must be bracketed).
absl::StatusOr<HostAndPort> SplitHostPort(absl::string_view address);

// "host:port", or "[host]:port" when the host holds a ':' (an IPv6 address).
std::string JoinHostPort(absl::string_view host, int port);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_HOST_PORT_H_
