// The process's file descriptor limit. Every connection a caller opens, every upstream connection and every file read
// takes a descriptor; Linux's usual soft limit (1024) is reached by a thousand idle connections, after which accept
// fails until some close. The hard limit is what an administrator allows; the server uses all of it.
#ifndef PCUSAGE_SERVER_COMMON_FD_LIMIT_H_
#define PCUSAGE_SERVER_COMMON_FD_LIMIT_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace pcusage {

struct FdLimit {
  uint64_t before = 0;  // the soft RLIMIT_NOFILE found
  uint64_t after = 0;   // the soft limit now in force (the hard limit, unless that could not be set)
};

// Raises the soft RLIMIT_NOFILE to the hard limit; never lowers it, never touches the hard limit. UNAVAILABLE with
// the system's reason when the limit cannot be read or set; it is then unchanged.
absl::StatusOr<FdLimit> RaiseFdLimitToHard();

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_FD_LIMIT_H_
