// One-line log records on stderr: "2026-11-24T09:05:27.123Z INFO  message". Thread safe. Callers never format
// tokens or credential file contents into a message; as a second net, every record goes through RedactSecrets
// (secrets.h).
#ifndef PCUSAGE_SERVER_COMMON_LOG_H_
#define PCUSAGE_SERVER_COMMON_LOG_H_

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace pcusage {

enum class LogLevel { kInfo, kWarning, kError };

void Log(LogLevel level, absl::string_view message);

template <typename... Parts>
void LogInfo(const Parts&... parts) {
  Log(LogLevel::kInfo, absl::StrCat(parts...));
}

template <typename... Parts>
void LogWarning(const Parts&... parts) {
  Log(LogLevel::kWarning, absl::StrCat(parts...));
}

template <typename... Parts>
void LogError(const Parts&... parts) {
  Log(LogLevel::kError, absl::StrCat(parts...));
}

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_LOG_H_
