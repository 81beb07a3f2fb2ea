#include "server/common/log.h"

#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/secrets.h"

namespace pcusage {

void Log(LogLevel level, absl::string_view message) {
  const char* level_name = "INFO ";
  if (level == LogLevel::kWarning) level_name = "WARN ";
  if (level == LogLevel::kError) level_name = "ERROR";
  std::string line = absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), " ",
                                  level_name, " ", RedactSecrets(message), "\n");
  // One fwrite per record keeps concurrent lines whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace pcusage
