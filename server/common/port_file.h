// The port a process bound, written for whoever started it on port 0 (supervisors, tests).
#ifndef PCUSAGE_SERVER_COMMON_PORT_FILE_H_
#define PCUSAGE_SERVER_COMMON_PORT_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace pcusage {

// Writes `port` to `path` so that readers see either no file or the whole number: a temporary file next to it is
// renamed over it. UNAVAILABLE, naming the file and the reason, when that fails.
absl::Status WritePortFile(const std::string& path, int port);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_PORT_FILE_H_
