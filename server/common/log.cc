#include "server/common/log.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/secrets.h"

namespace pcusage {
namespace {

std::atomic<LogFormat> format{LogFormat::kText};
std::atomic<LogLevel> min_level{LogLevel::kInfo};

// The length of the valid UTF-8 sequence at the start of `text`, or 0 when it does not start with one.
std::size_t Utf8SequenceLength(absl::string_view text) {
  const auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  uint32_t lowest = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    lowest = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    lowest = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    lowest = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  uint32_t code_point = lead & (0x7f >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3f);
  }
  if (code_point < lowest || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) return 0;
  return length;
}

// `text` as a JSON string, quotes included; bytes that are not UTF-8 become U+FFFD.
void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = Utf8SequenceLength(text.substr(i));
      if (length == 0) {
        out.append("\\ufffd");
        ++i;
      } else {
        out.append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

// A text-format value: bare when it is one plain word, quoted (JSON string rules) otherwise.
void AppendTextValue(std::string& out, absl::string_view value) {
  bool plain = !value.empty();
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '=' || c == '\\') plain = false;
  }
  if (plain) {
    out.append(value.data(), value.size());
  } else {
    AppendJsonString(out, value);
  }
}

absl::string_view TextLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO ";
    case LogLevel::kWarning:
      return "WARN ";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO ";
}

absl::string_view JsonLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError("must be debug, info, warning or error");
}

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "text") return LogFormat::kText;
  if (lower == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError("must be text or json");
}

void SetLogFormat(LogFormat new_format) { format.store(new_format); }
void SetMinLogLevel(LogLevel level) { min_level.store(level); }
bool LogEnabled(LogLevel level) { return level >= min_level.load(std::memory_order_relaxed); }

std::string FormatLogLine(LogFormat line_format, absl::string_view time, LogLevel level, absl::string_view message,
                          absl::Span<const LogField> fields) {
  const Redactor redactor;
  std::string line;
  if (line_format == LogFormat::kJson) {
    line = absl::StrCat(R"({"time":")", time, R"(","level":")", JsonLevel(level), R"(","msg":)");
    AppendJsonString(line, redactor.Redact(message));
    for (const LogField& field : fields) {
      line.push_back(',');
      AppendJsonString(line, field.key);
      line.push_back(':');
      if (field.is_number) {
        line.append(field.value);
      } else {
        AppendJsonString(line, redactor.Redact(field.value));
      }
    }
    line.push_back('}');
    return line;
  }
  line = absl::StrCat(time, " ", TextLevel(level), " ", redactor.Redact(message));
  for (const LogField& field : fields) {
    absl::StrAppend(&line, " ", field.key, "=");
    AppendTextValue(line, field.is_number ? field.value : redactor.Redact(field.value));
  }
  return line;
}

std::string LogTime(absl::Time time) {
  // The part up to the seconds changes once a second; each thread formats it once for its second.
  thread_local int64_t formatted_second = std::numeric_limits<int64_t>::min();
  thread_local std::string up_to_seconds;           // "2026-12-06T09:05:27."
  const int64_t millis = absl::ToUnixMillis(time);  // rounded down
  const int64_t second = millis >= 0 ? millis / 1000 : (millis - 999) / 1000;
  if (second != formatted_second) {
    up_to_seconds = absl::FormatTime("%Y-%m-%dT%H:%M:%S.", absl::FromUnixSeconds(second), absl::UTCTimeZone());
    formatted_second = second;
  }
  return absl::StrCat(up_to_seconds, absl::Dec(millis - second * 1000, absl::kZeroPad3), "Z");
}

void LogEvent(LogLevel level, absl::string_view message, absl::Span<const LogField> fields) {
  if (!LogEnabled(level)) return;
  const std::string time = LogTime(absl::Now());
  std::string line = FormatLogLine(format.load(std::memory_order_relaxed), time, level, message, fields);
  line.push_back('\n');
  // One fwrite per event keeps concurrent lines whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace pcusage
