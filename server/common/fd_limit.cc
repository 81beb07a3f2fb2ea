#include "server/common/fd_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pcusage {

absl::StatusOr<FdLimit> RaiseFdLimitToHard() {
  struct rlimit limit {};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot read RLIMIT_NOFILE: ", std::strerror(errno)));
  }
  FdLimit result;
  result.before = limit.rlim_cur;
  if (limit.rlim_cur < limit.rlim_max) {
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot raise RLIMIT_NOFILE from ", before, " to ", limit.rlim_max, ": ", std::strerror(errno)));
    }
  }
  result.after = limit.rlim_cur;
  return result;
}

}  // namespace pcusage
