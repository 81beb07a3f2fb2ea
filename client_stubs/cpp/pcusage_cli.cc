// pcusage_cli: lists the current month's usage records of every customer from a pcusage server.
//
// Flags are absl flags, parsed by ParseArguments rather than absl::ParseCommandLine so that every usage error exits
// with 2 (absl exits with 1) and so that only this program's flags are accepted.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client_stubs/cpp/record_format.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "host:port of the pcusage server (plaintext gRPC).");
ABSL_FLAG(std::string, format, "table",
          "table: aligned columns, printed once the stream has ended (widths depend on every row). "
          "jsonl: one JSON object per record (protobuf JSON, lowerCamel names), written as each response "
          "message arrives.");
ABSL_FLAG(int32_t, page_size, 0, "Records per response message; 0 = server default (100); the server caps it at 1000.");
ABSL_FLAG(absl::Duration, timeout, absl::Minutes(5), "Deadline for the whole stream, e.g. 30s, 5m, 1h; inf for none.");
ABSL_FLAG(std::string, access_token_file, "",
          "File holding a Partner Center App+User token; surrounding whitespace is ignored. Without it the "
          "PCUSAGE_ACCESS_TOKEN environment variable is used when set; with neither, no token is sent and the "
          "server uses its own. The token is never printed.");
ABSL_FLAG(std::string, correlation_id, "",
          "GUID sent as MS-CorrelationId; the server generates one when empty. Printed in the summary either way.");
ABSL_FLAG(std::string, resume_token, "",
          "Continue a stream that failed: the token printed by that run. Records it had already printed are not "
          "sent again.");

ABSL_FLAG(std::string, max_staleness, "",
          "How old a list the server fetched for another call may be and still serve this one, e.g. 30s, 5m; 0 asks "
          "for a fresh walk of Partner Center. Empty: the server's default.");

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;

constexpr char kProgram[] = "pcusage_cli";
constexpr char kTokenEnvironmentVariable[] = "PCUSAGE_ACCESS_TOKEN";
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// The flags this program accepts, in the order --help lists them.
constexpr const char* kFlagNames[] = {"server",         "format",       "page_size",    "timeout", "access_token_file",
                                      "correlation_id", "resume_token", "max_staleness"};

constexpr char kSynopsis[] = "Usage: pcusage_cli list [flags]\n";

constexpr char kDescription[] =
    "\n"
    "Streams the current month's usage record of every customer of the signed-in partner from a pcusage server.\n"
    "Records go to stdout; a summary (records, messages, Partner Center totalCount, MS-CorrelationId) goes to\n"
    "stderr. With --format=table nothing is printed until the stream ends; with --format=jsonl records are\n"
    "printed as soon as their message arrives. Money values are printed digit for digit as Partner Center sent them.\n"
    "\n"
    "Exit status: 0 when the server delivered every record; 1 when the call failed (printed to stderr as\n"
    "\"pcusage_cli: <gRPC code>: <message>\", after any records already received); 2 for usage errors.\n"
    "\n"
    "Flags (--name=value or --name value):\n";

// Appends `text` to `out` as lines of at most 110 columns, each starting with `indent` spaces.
void AppendWrapped(absl::string_view text, int indent, std::string* out) {
  constexpr std::size_t kWidth = 110;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + 1 + word.size() > kWidth) {
      absl::StrAppend(out, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? std::string(indent, ' ') : " ", word);
  }
  if (!line.empty()) absl::StrAppend(out, line, "\n");
}

std::string Help() {
  std::string help = absl::StrCat(kSynopsis, kDescription);
  for (const char* name : kFlagNames) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    absl::StrAppend(&help, "  --", name, "\n");
    AppendWrapped(flag->Help(), 6, &help);
    absl::StrAppend(&help, "      default: ", flag->DefaultValue().empty() ? "\"\"" : flag->DefaultValue(), "\n");
  }
  absl::StrAppend(&help, "  --help\n      Prints this text.\n");
  return help;
}

int UsageError(absl::string_view message) {
  std::cerr << kProgram << ": " << message << "\n" << kSynopsis << "Run '" << kProgram << " --help' for details.\n";
  return kExitUsage;
}

struct CommandLine {
  std::vector<std::string> arguments;
  bool help = false;
};

// Sets this program's flags from argv and returns the other arguments.
absl::StatusOr<CommandLine> ParseArguments(int argc, char** argv) {
  CommandLine command_line;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      command_line.arguments.insert(command_line.arguments.end(), argv + i + 1, argv + argc);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      command_line.arguments.emplace_back(arg);
      continue;
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    const std::size_t equals = arg.find('=');
    const absl::string_view name = arg.substr(0, equals);
    if (name == "help" || name == "h" || name == "helpfull") {
      command_line.help = true;
      continue;
    }
    const bool known = std::find(std::begin(kFlagNames), std::end(kFlagNames), name) != std::end(kFlagNames);
    absl::CommandLineFlag* flag = known ? absl::FindCommandLineFlag(name) : nullptr;
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    std::string value;
    if (equals != absl::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat("bad value for --", name, ": ", error));
    }
  }
  return command_line;
}

// The contents of a small file; tokens are a few kilobytes, so anything above 1 MiB is refused.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  constexpr std::size_t kMaxBytes = std::size_t{1} << 20;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::string contents;
  char buffer[4096];
  std::size_t read;
  while (contents.size() <= kMaxBytes && (read = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    contents.append(buffer, read);
  }
  const int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path, ": ", std::strerror(error)));
  if (contents.size() > kMaxBytes) return absl::InvalidArgumentError(absl::StrCat(path, " is larger than 1 MiB"));
  return contents;
}

// The token from --access_token_file, else from the environment, else empty. Errors never quote the token.
absl::StatusOr<std::string> AccessToken() {
  const std::string path = absl::GetFlag(FLAGS_access_token_file);
  std::string source;
  std::string token;
  if (!path.empty()) {
    absl::StatusOr<std::string> contents = ReadSmallFile(path);
    if (!contents.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--access_token_file: ", contents.status().message()));
    }
    source = absl::StrCat("--access_token_file ", path);
    token = std::string(absl::StripAsciiWhitespace(*contents));
    if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(source, " is empty"));
  } else if (const char* variable = std::getenv(kTokenEnvironmentVariable); variable != nullptr) {
    source = absl::StrCat("$", kTokenEnvironmentVariable);
    token = std::string(absl::StripAsciiWhitespace(variable));
  }
  // A token is base64url text and dots; anything else would not be valid gRPC metadata.
  if (!std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7F; })) {
    return absl::InvalidArgumentError(
        absl::StrCat("the access token in ", source, " contains spaces, control or non-ASCII characters"));
  }
  return token;
}

// --max_staleness: unset when empty, else a non-negative duration.
absl::StatusOr<std::optional<absl::Duration>> MaxStaleness() {
  const std::string text = absl::GetFlag(FLAGS_max_staleness);
  if (text.empty()) return std::nullopt;
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration < absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_staleness must be a non-negative duration such as 30s or 5m, not \"", text, "\""));
  }
  return duration;
}

absl::Status CheckFlags() {
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "table" && format != "jsonl") {
    return absl::InvalidArgumentError(absl::StrCat("--format must be table or jsonl, not \"", format, "\""));
  }
  if (absl::GetFlag(FLAGS_page_size) < 0) return absl::InvalidArgumentError("--page_size must not be negative");
  if (absl::GetFlag(FLAGS_timeout) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be positive (or inf for none)");
  }
  if (absl::GetFlag(FLAGS_server).empty()) return absl::InvalidArgumentError("--server must not be empty");
  if (!MaxStaleness().ok()) return MaxStaleness().status();
  return absl::OkStatus();
}

std::string StatusCodeName(grpc::StatusCode code) {
  const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat("CODE_", static_cast<int>(code)) : name;
}

// Prints records as they stream in, as a table (at the end) or as JSON lines (one by one).
class RecordPrinter {
 public:
  explicit RecordPrinter(bool jsonl) : jsonl_(jsonl) {}

  // False once stdout fails: the stream should stop.
  bool Print(const v1::CustomerMonthlyUsageRecord& record) {
    if (!jsonl_) {
      table_.AddRecord(record);
      return true;
    }
    if (!AppendRecordJsonLine(record, &lines_)) {
      ++unprintable_;
      std::cerr << kProgram << ": cannot print the record of tenant \"" << record.resource_id() << "\" as JSON\n";
      return true;
    }
    lines_.push_back('\n');
    if (lines_.size() >= kLinesPerWrite) WriteLines();
    return !output_failed_;
  }

  // Writes the JSON lines buffered so far: called at the end of each message, so a record never waits in the
  // buffer for the next message to arrive.
  void WriteLines() {
    if (lines_.empty() || output_failed_) return;
    std::cout.write(lines_.data(), static_cast<std::streamsize>(lines_.size()));
    std::cout.flush();
    lines_.clear();
    output_failed_ = !std::cout;
  }

  // Writes the table, if any, once the stream has ended, and flushes what is buffered.
  void Finish(const grpc::Status& status) {
    WriteLines();
    if (!jsonl_ && (status.ok() || table_.size() > 0)) table_.Write(std::cout);
    std::cout.flush();
    output_failed_ = output_failed_ || !std::cout;
  }

  bool output_failed() const { return output_failed_; }
  int64_t unprintable() const { return unprintable_; }

 private:
  // JSON lines go to stdout in writes of about this many bytes (or a message's worth), not one per record.
  static constexpr std::size_t kLinesPerWrite = 1 << 16;

  const bool jsonl_;
  std::string lines_;
  TableWriter table_;
  int64_t unprintable_ = 0;
  bool output_failed_ = false;
};

// Where the records came from, for the summary: when their walk of Partner Center started, and whether it was
// another call's.
std::string SnapshotText(const ListSummary& summary) {
  if (!summary.snapshot_time.has_value()) return "";
  return absl::StrCat("; listed by Partner Center from ",
                      absl::FormatTime(absl::RFC3339_sec, *summary.snapshot_time, absl::UTCTimeZone()),
                      summary.from_shared_snapshot ? " (a snapshot shared with other calls)" : "");
}

// The summary on stderr, and the exit status.
int Report(const ListSummary& summary, const RecordPrinter& printer) {
  std::cerr << summary.records << " records in " << summary.messages << " messages; Partner Center totalCount "
            << (summary.partner_center_total_count.has_value() ? absl::StrCat(*summary.partner_center_total_count)
                                                               : "unknown")
            << "; MS-CorrelationId " << (summary.correlation_id.empty() ? "unknown" : summary.correlation_id)
            << SnapshotText(summary) << "\n";
  if (printer.output_failed()) {
    std::cerr << kProgram << ": writing to stdout failed\n";
    return kExitFailure;
  }
  if (!summary.status.ok()) {
    std::cerr << kProgram << ": " << StatusCodeName(summary.status.error_code()) << ": "
              << summary.status.error_message() << "\n";
    if (summary.error_info.has_value()) std::cerr << kProgram << ": reason " << summary.error_info->reason() << "\n";
    if (summary.retry_info.has_value()) {
      std::cerr << kProgram << ": the server suggests retrying after " << summary.retry_info->retry_delay().seconds()
                << "s\n";
    }
    if (!summary.resume_token.empty() && summary.records > 0) {
      std::cerr << kProgram << ": continue with --resume_token=" << summary.resume_token << "\n";
    }
    return kExitFailure;
  }
  if (printer.unprintable() > 0) {
    std::cerr << kProgram << ": " << printer.unprintable() << " records could not be printed\n";
    return kExitFailure;
  }
  return 0;
}

int Run(int argc, char** argv) {
  absl::StatusOr<CommandLine> command_line = ParseArguments(argc, argv);
  if (!command_line.ok()) return UsageError(command_line.status().message());
  const std::vector<std::string>& arguments = command_line->arguments;
  if (command_line->help || (arguments.size() == 1 && arguments[0] == "help")) {
    std::cout << Help();
    return 0;
  }
  if (arguments.empty()) return UsageError("missing subcommand");
  if (arguments[0] != "list") return UsageError(absl::StrCat("unknown subcommand \"", arguments[0], "\""));
  if (arguments.size() > 1) return UsageError(absl::StrCat("unexpected argument \"", arguments[1], "\""));
  if (absl::Status flags = CheckFlags(); !flags.ok()) return UsageError(flags.message());
  absl::StatusOr<std::string> token = AccessToken();
  if (!token.ok()) return UsageError(token.status().message());

  ListOptions options;
  options.page_size = absl::GetFlag(FLAGS_page_size);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.access_token = *std::move(token);
  options.correlation_id = absl::GetFlag(FLAGS_correlation_id);
  options.resume_token = absl::GetFlag(FLAGS_resume_token);
  options.max_staleness = *MaxStaleness();
  UsageRecordsClient client(grpc::CreateChannel(absl::GetFlag(FLAGS_server), grpc::InsecureChannelCredentials()));
  RecordPrinter printer(absl::GetFlag(FLAGS_format) == "jsonl");
  const ListSummary summary = client.ListUsageRecords(
      options, [&printer](const v1::CustomerMonthlyUsageRecord& record) { return printer.Print(record); },
      [&printer] { printer.WriteLines(); });
  printer.Finish(summary.status);
  return Report(summary, printer);
}

}  // namespace
}  // namespace pcusage::client

int main(int argc, char** argv) {
  // A closed pipe (`pcusage_cli list | head`) shows up as a failed write, reported with exit status 1.
  std::signal(SIGPIPE, SIG_IGN);
  // Records go out in 64 KiB writes rather than one write (or flush) each.
  std::ios::sync_with_stdio(false);
  static char stdout_buffer[1 << 16];
  std::cout.rdbuf()->pubsetbuf(stdout_buffer, sizeof(stdout_buffer));
  return pcusage::client::Run(argc, argv);
}
