// One event per line on stderr, as text ("2026-11-24T09:05:27.123Z INFO  message key=value ...") or as JSON
// ({"time":...,"level":"info","msg":...,"key":value,...}, --log_format=json), below a minimum level that drops the
// rest (--log_level). Thread safe; a line is written whole. Callers never format tokens or credential file contents
// into a message; as a second net, the message and every text field go through RedactSecrets (secrets.h), and JSON
// output is valid UTF-8 whatever bytes they held.
#ifndef PCUSAGE_SERVER_COMMON_LOG_H_
#define PCUSAGE_SERVER_COMMON_LOG_H_

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace pcusage {

enum class LogLevel { kDebug, kInfo, kWarning, kError };
enum class LogFormat { kText, kJson };

// "debug", "info", "warning" or "error"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);
// "text" or "json"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);

// Process-wide; set once at start, before other threads log.
void SetLogFormat(LogFormat format);
void SetMinLogLevel(LogLevel level);
// Whether an event of `level` would be written (to skip building one that would not).
bool LogEnabled(LogLevel level);

// A named value of an event: text, or an integer (a JSON number). Keys are fixed names chosen by the code (see
// docs/operations.md for the stable ones), never text from a peer.
struct LogField {
  LogField(absl::string_view key, absl::string_view text) : key(key), value(text) {}
  LogField(absl::string_view key, std::string text) : key(key), value(std::move(text)) {}
  LogField(absl::string_view key, const char* text) : key(key), value(text) {}
  template <typename Integer,
            typename = std::enable_if_t<std::is_integral_v<Integer> && !std::is_same_v<Integer, bool>>>
  LogField(absl::string_view key, Integer number) : key(key), value(absl::StrCat(number)), is_number(true) {}
  LogField(absl::string_view key, bool flag) : key(key), value(flag ? "true" : "false"), is_number(true) {}

  absl::string_view key;
  std::string value;
  bool is_number = false;  // written bare in JSON (integers and booleans)
};

void LogEvent(LogLevel level, absl::string_view message, absl::Span<const LogField> fields = {});

// `time` as a log line's time: UTC, RFC 3339, milliseconds (2026-12-06T09:05:27.123Z).
std::string LogTime(absl::Time time);

// The line an event becomes (without its newline); exposed for tests.
std::string FormatLogLine(LogFormat format, absl::string_view time, LogLevel level, absl::string_view message,
                          absl::Span<const LogField> fields);

inline void Log(LogLevel level, absl::string_view message) { LogEvent(level, message); }

template <typename... Parts>
void LogDebug(const Parts&... parts) {
  if (LogEnabled(LogLevel::kDebug)) Log(LogLevel::kDebug, absl::StrCat(parts...));
}

template <typename... Parts>
void LogInfo(const Parts&... parts) {
  if (LogEnabled(LogLevel::kInfo)) Log(LogLevel::kInfo, absl::StrCat(parts...));
}

template <typename... Parts>
void LogWarning(const Parts&... parts) {
  if (LogEnabled(LogLevel::kWarning)) Log(LogLevel::kWarning, absl::StrCat(parts...));
}

template <typename... Parts>
void LogError(const Parts&... parts) {
  Log(LogLevel::kError, absl::StrCat(parts...));
}

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_LOG_H_
