// pcusage_cli: lists the current month's usage records of every customer from a pcusage server (list), or prints
// budget events as they happen (watch).
//
// Flags are absl flags, parsed by ParseArguments rather than absl::ParseCommandLine so that every usage error exits
// with 2 (absl exits with 1) and so that only this program's flags are accepted.
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client_stubs/cpp/budget_event_format.h"
#include "client_stubs/cpp/loopback_target.h"
#include "client_stubs/cpp/record_format.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "packaging/build_info.h"
#include "server/common/exact_decimal.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "host:port of the pcusage server; plaintext gRPC unless --tls (or a --tls_* flag) is given.");
ABSL_FLAG(std::string, format, "table",
          "list: table, jsonl or csv. watch: table or jsonl. "
          "table: for list, aligned columns, printed once the stream has ended (widths depend on every row); for "
          "watch, a line per event as it arrives (received time, kind, threshold, tenant id, percent used and the "
          "value in the poll before, snapshot time, name; and a line at the end of the initial state and per "
          "failed poll). "
          "jsonl: one JSON object per record (protobuf JSON, lowerCamel names), written as each response "
          "message arrives; for watch, one per WatchBudgetsResponse message. "
          "csv: RFC 4180 (UTF-8, CRLF line ends, a field holding a comma, quote, CR or LF in double quotes), a header "
          "row of the proto's field names (id, name, resource_id, resource_name, budget_amount, "
          "customer_spending_budget_amount, usage_spending_budget_amount, percent_used, total_cost, usd_total_cost, "
          "currency_locale, currency_code, currency_symbol, is_upgraded, last_modified_time), then a row per record "
          "as each message arrives; decimals as the server's exact text, is_upgraded true or false, "
          "last_modified_time RFC 3339 in UTC, an absent value (or a budget without an amount) as an empty field.");
ABSL_FLAG(int32_t, page_size, 0, "Records per response message; 0 = server default (100); the server caps it at 1000.");
ABSL_FLAG(absl::Duration, timeout, absl::Minutes(5),
          "Deadline for the whole stream, e.g. 30s, 5m, 1h; inf for none. A watch has none unless this flag is given: "
          "it runs until interrupted (Ctrl-C) or until the server ends it (its --max_watch_duration, 24h by default, "
          "ends it with DEADLINE_EXCEEDED).");
ABSL_FLAG(std::string, access_token_file, "",
          "File holding a Partner Center App+User token; surrounding whitespace is ignored. Without it the "
          "PCUSAGE_ACCESS_TOKEN environment variable is used when set; with neither, no token is sent and the "
          "server uses its own. The token is never printed.");
ABSL_FLAG(std::string, api_key_file, "",
          "File holding the API key of a server started with --api_keys_file, sent as x-api-key metadata; "
          "surrounding whitespace is ignored. Taken from a file only, never from the command line, and never "
          "printed. Without TLS it is sent only to a loopback --server (it would cross the network in clear text).");
ABSL_FLAG(bool, tls, false,
          "Connect with TLS, verifying the server's certificate against --tls_ca_file (or the system's CAs) and the "
          "host of --server (or --tls_server_name). Implied by every --tls_* flag.");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM file of the certificate authorities to trust for the server's certificate, instead of the system's.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain presented to a server that requires client certificates (mutual TLS: the "
          "server's --tls_client_ca_file); goes with --tls_key_file.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file.");
ABSL_FLAG(std::string, tls_server_name, "",
          "The name the server's certificate must hold, when it is not the host of --server (e.g. a certificate for "
          "localhost reached as 127.0.0.1).");
ABSL_FLAG(std::string, correlation_id, "",
          "GUID sent as MS-CorrelationId; the server generates one when empty. Printed in the summary either way.");
ABSL_FLAG(std::string, resume_token, "",
          "Continue a stream that failed: the token printed by that run. Records it had already printed are not "
          "sent again.");

ABSL_FLAG(std::string, max_staleness, "",
          "How old a list the server fetched for another call may be and still serve this one, e.g. 30s, 5m; 0 asks "
          "for a fresh walk of Partner Center. Empty: the server's default.");

ABSL_FLAG(std::vector<std::string>, customer_ids, {},
          "Only these customers: tenant ids (GUIDs), comma-separated. The server filters the records it reads.");
ABSL_FLAG(std::vector<std::string>, currency_codes, {}, "Only records in these ISO 4217 currencies, comma-separated.");
ABSL_FLAG(std::string, min_percent_used, "",
          "Only records whose percent used is at least this decimal (google.type.Decimal text such as 80, 99.5 or "
          "1E+2), compared exactly; anything else is a usage error. Empty: no minimum.");
ABSL_FLAG(bool, only_with_budget, false, "Only records whose budget has an amount.");

ABSL_FLAG(std::vector<std::string>, thresholds, {},
          "Percentages of budget to watch, comma-separated decimals compared exactly by the server, e.g. 80,100 or "
          "99.5. Empty: the server's, 80 and 100.");
ABSL_FLAG(absl::Duration, poll_interval, absl::ZeroDuration(),
          "How often the server looks at the list for this watch, e.g. 5m; 0: the server's default (15m, or its "
          "minimum when that is longer). The server refuses one below its --min_watch_poll_interval (5m by "
          "default).");

namespace pcusage::client {
namespace {

namespace v1 = ::partnercenter::usage::v1;

constexpr char kProgram[] = "pcusage_cli";
constexpr char kTokenEnvironmentVariable[] = "PCUSAGE_ACCESS_TOKEN";
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

enum class Subcommand { kList, kWatch };

// The subcommands a flag applies to.
enum class Scope { kBoth, kList, kWatch };

struct FlagSpec {
  const char* name;
  Scope scope;
  // What --help prints as the default, when not the flag's own default value.
  const char* default_text = nullptr;
};

// The flags this program accepts, in the order --help lists them.
constexpr FlagSpec kFlags[] = {
    {"server", Scope::kBoth},
    {"format", Scope::kBoth},
    {"page_size", Scope::kList},
    {"timeout", Scope::kBoth, "5m for list, inf for watch"},
    {"access_token_file", Scope::kBoth},
    {"api_key_file", Scope::kBoth},
    {"tls", Scope::kBoth},
    {"tls_ca_file", Scope::kBoth},
    {"tls_cert_file", Scope::kBoth},
    {"tls_key_file", Scope::kBoth},
    {"tls_server_name", Scope::kBoth},
    {"correlation_id", Scope::kBoth},
    {"resume_token", Scope::kList},
    {"max_staleness", Scope::kList},
    {"customer_ids", Scope::kBoth},
    {"currency_codes", Scope::kBoth},
    {"min_percent_used", Scope::kList},
    {"only_with_budget", Scope::kList},
    {"thresholds", Scope::kWatch},
    {"poll_interval", Scope::kWatch},
};

const FlagSpec* FindFlagSpec(absl::string_view name) {
  for (const FlagSpec& spec : kFlags) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

constexpr char kSynopsis[] =
    "Usage: pcusage_cli list [flags]\n"
    "       pcusage_cli watch [flags]\n";

constexpr char kDescription[] =
    "\n"
    "list streams the current month's usage record of every customer of the signed-in partner from a pcusage\n"
    "server. Records go to stdout; a summary (records, messages, Partner Center totalCount, MS-CorrelationId) goes\n"
    "to stderr. With --format=table nothing is printed until the stream ends; with --format=jsonl or csv records\n"
    "are written as soon as their message arrives, one write per message. Money values are printed digit for digit\n"
    "as Partner Center sent them.\n"
    "\n"
    "Exit status of list: 0 when the server delivered every record, or when stdout was closed by its reader (as in\n"
    "'pcusage_cli list | head'; the call is cancelled and nothing more is printed); 1 when the call failed (printed\n"
    "to stderr as \"pcusage_cli: <gRPC code>: <message>\", after any records already received) or stdout failed\n"
    "otherwise; 2 for usage errors.\n"
    "\n"
    "watch prints budget events as they happen (WatchBudgets; docs/api.md, \"Budget watch\"): first the level,\n"
    "every customer at or above each threshold, and a line saying the initial state is complete; then, after each\n"
    "poll of the server, each threshold a customer crossed up or down or left (gone), and each failed poll. Each\n"
    "event is written to stdout as it arrives. A watch runs until Ctrl-C (SIGINT) or SIGTERM, which cancel it and\n"
    "exit 0, until stdout is closed (exit 0), or until the server ends it with an error (exit 1, reported as for\n"
    "list; after DEADLINE_EXCEEDED or a draining server's UNAVAILABLE, run it again: a new watch starts with the\n"
    "level). Usage errors exit 2.\n"
    "\n"
    "Flags (--name=value or --name value); those marked (list) or (watch) apply to that subcommand only:\n";

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
  for (const FlagSpec& spec : kFlags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(spec.name);
    const char* scope = spec.scope == Scope::kList ? " (list)" : spec.scope == Scope::kWatch ? " (watch)" : "";
    absl::StrAppend(&help, "  --", spec.name, scope, "\n");
    AppendWrapped(flag->Help(), 6, &help);
    const std::string default_value = spec.default_text != nullptr ? spec.default_text : flag->DefaultValue();
    absl::StrAppend(&help, "      default: ", default_value.empty() ? "\"\"" : default_value, "\n");
  }
  absl::StrAppend(&help, "  --help\n      Prints this text.\n");
  absl::StrAppend(&help, "  --version\n      Prints the version, the git commit and the build mode.\n");
  return help;
}

int UsageError(absl::string_view message) {
  std::cerr << kProgram << ": " << message << "\n" << kSynopsis << "Run '" << kProgram << " --help' for details.\n";
  return kExitUsage;
}

struct CommandLine {
  std::vector<std::string> arguments;
  // The flags given, in the order given (twice when given twice).
  std::vector<const FlagSpec*> flags;
  bool help = false;
  bool version = false;
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
    if (name == "version") {
      command_line.version = true;
      continue;
    }
    const FlagSpec* spec = FindFlagSpec(name);
    absl::CommandLineFlag* flag = spec != nullptr ? absl::FindCommandLineFlag(name) : nullptr;
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    command_line.flags.push_back(spec);
    std::string value;
    if (equals != absl::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (flag->IsOfType<bool>()) {
      value = "true";
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

// The contents of a small file; tokens, keys and certificates are a few kilobytes, so anything above 1 MiB is
// refused.
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

// Whether `value` can be sent as gRPC metadata: printable ASCII without spaces (tokens and keys are such text).
bool IsMetadataText(absl::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

// The secret in the file that --`flag` names, without surrounding whitespace. Errors never quote the secret.
absl::StatusOr<std::string> SecretFromFile(absl::string_view flag, const std::string& path) {
  absl::StatusOr<std::string> contents = ReadSmallFile(path);
  if (!contents.ok()) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", contents.status().message()));
  std::string secret(absl::StripAsciiWhitespace(*contents));
  if (secret.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, " is empty"));
  if (!IsMetadataText(secret)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the secret in --", flag, " ", path, " contains spaces, control or non-ASCII characters"));
  }
  return secret;
}

// The token from --access_token_file, else from the environment, else empty. Errors never quote the token.
absl::StatusOr<std::string> AccessToken() {
  const std::string path = absl::GetFlag(FLAGS_access_token_file);
  if (!path.empty()) return SecretFromFile("access_token_file", path);
  const char* variable = std::getenv(kTokenEnvironmentVariable);
  if (variable == nullptr) return std::string();
  std::string token(absl::StripAsciiWhitespace(variable));
  // A token is base64url text and dots; anything else would not be valid gRPC metadata.
  if (!IsMetadataText(token)) {
    return absl::InvalidArgumentError(absl::StrCat("the access token in $", kTokenEnvironmentVariable,
                                                   " contains spaces, control or non-ASCII characters"));
  }
  return token;
}

// The key from --api_key_file, or empty.
absl::StatusOr<std::string> ApiKey() {
  const std::string path = absl::GetFlag(FLAGS_api_key_file);
  if (path.empty()) return std::string();
  return SecretFromFile("api_key_file", path);
}

bool TlsRequested() {
  return absl::GetFlag(FLAGS_tls) || !absl::GetFlag(FLAGS_tls_ca_file).empty() ||
         !absl::GetFlag(FLAGS_tls_cert_file).empty() || !absl::GetFlag(FLAGS_tls_key_file).empty() ||
         !absl::GetFlag(FLAGS_tls_server_name).empty();
}

// The contents of the PEM file that --`flag` names; empty when the flag is.
absl::StatusOr<std::string> PemFile(absl::string_view flag, const std::string& path) {
  if (path.empty()) return std::string();
  absl::StatusOr<std::string> pem = ReadSmallFile(path);
  if (!pem.ok()) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", pem.status().message()));
  if (pem->find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, " holds no PEM block"));
  }
  return pem;
}

// A channel to --server: plaintext, or TLS (with a client certificate for mutual TLS) as the --tls flags say.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel() {
  const std::string server = absl::GetFlag(FLAGS_server);
  if (!TlsRequested()) return grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions tls;
  const std::tuple<const char*, std::string, std::string*> files[] = {
      {"tls_ca_file", absl::GetFlag(FLAGS_tls_ca_file), &tls.pem_root_certs},
      {"tls_cert_file", absl::GetFlag(FLAGS_tls_cert_file), &tls.pem_cert_chain},
      {"tls_key_file", absl::GetFlag(FLAGS_tls_key_file), &tls.pem_private_key}};
  for (const auto& [flag, path, pem] : files) {
    absl::StatusOr<std::string> contents = PemFile(flag, path);
    if (!contents.ok()) return contents.status();
    *pem = *std::move(contents);
  }
  grpc::ChannelArguments arguments;
  if (!absl::GetFlag(FLAGS_tls_server_name).empty()) {
    arguments.SetSslTargetNameOverride(absl::GetFlag(FLAGS_tls_server_name));
  }
  return grpc::CreateCustomChannel(server, grpc::SslCredentials(tls), arguments);
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

absl::string_view SubcommandName(Subcommand subcommand) { return subcommand == Subcommand::kList ? "list" : "watch"; }

bool Given(const CommandLine& command_line, absl::string_view name) {
  return std::any_of(command_line.flags.begin(), command_line.flags.end(),
                     [name](const FlagSpec* spec) { return spec->name == name; });
}

// --timeout: as given, or, when not given, the subcommand's default.
absl::Duration Timeout(Subcommand subcommand, const CommandLine& command_line) {
  if (subcommand == Subcommand::kWatch && !Given(command_line, "timeout")) return absl::InfiniteDuration();
  return absl::GetFlag(FLAGS_timeout);
}

// --min_percent_used, as the server reads it (server/record_filter.cc): empty (no minimum) or a google.type.Decimal,
// checked by the parser the server compares with, so that nothing the server would refuse leaves the command line.
absl::Status CheckListFlags() {
  const std::string minimum = absl::GetFlag(FLAGS_min_percent_used);
  if (minimum.empty()) return absl::OkStatus();
  if (absl::StatusOr<ExactDecimal> parsed = ExactDecimal::Parse(minimum); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--min_percent_used must be a decimal number such as 80 or 99.5: ", parsed.status().message()));
  }
  return absl::OkStatus();
}

absl::Status CheckWatchFlags() {
  // The server's parser (an empty entry, which it would read as 0, is a slip in a list of thresholds).
  for (const std::string& threshold : absl::GetFlag(FLAGS_thresholds)) {
    if (threshold.empty() || !ExactDecimal::Parse(threshold).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--thresholds takes decimal numbers such as 80 or 99.5, not \"", threshold, "\""));
    }
  }
  const absl::Duration poll_interval = absl::GetFlag(FLAGS_poll_interval);
  if (poll_interval < absl::ZeroDuration() || poll_interval == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("--poll_interval must be a finite duration such as 5m (or 0 for the server's)");
  }
  return absl::OkStatus();
}

absl::Status CheckFlags(Subcommand subcommand, const CommandLine& command_line) {
  const Scope other = subcommand == Subcommand::kList ? Scope::kWatch : Scope::kList;
  for (const FlagSpec* spec : command_line.flags) {
    if (spec->scope == other) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", spec->name, " does not apply to ", SubcommandName(subcommand)));
    }
  }
  const std::string format = absl::GetFlag(FLAGS_format);
  if (subcommand == Subcommand::kWatch && format == "csv") {
    return absl::InvalidArgumentError("--format=csv is not offered for watch: use table or jsonl");
  }
  if (format != "table" && format != "jsonl" && format != "csv") {
    return absl::InvalidArgumentError(absl::StrCat("--format must be table, jsonl or csv, not \"", format, "\""));
  }
  if (absl::GetFlag(FLAGS_tls_cert_file).empty() != absl::GetFlag(FLAGS_tls_key_file).empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  if (absl::GetFlag(FLAGS_page_size) < 0) return absl::InvalidArgumentError("--page_size must not be negative");
  if (Timeout(subcommand, command_line) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be positive (or inf for none)");
  }
  if (absl::GetFlag(FLAGS_server).empty()) return absl::InvalidArgumentError("--server must not be empty");
  if (!MaxStaleness().ok()) return MaxStaleness().status();
  return subcommand == Subcommand::kWatch ? CheckWatchFlags() : CheckListFlags();
}

std::string StatusCodeName(grpc::StatusCode code) {
  const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat("CODE_", static_cast<int>(code)) : name;
}

// Standard output through write(2), a buffer at a time, so that a reader that went away (EPIPE) is told apart from
// other failures.
class Stdout {
 public:
  std::string& buffer() { return buffer_; }

  // Writes the buffer and empties it; false once a write has failed (the buffer is then dropped).
  bool Flush() {
    std::size_t written = 0;
    while (error_ == 0 && written < buffer_.size()) {
      const ssize_t n = ::write(STDOUT_FILENO, buffer_.data() + written, buffer_.size() - written);
      if (n >= 0) {
        written += static_cast<std::size_t>(n);
      } else if (errno != EINTR) {
        error_ = errno;
      }
    }
    buffer_.clear();
    return error_ == 0;
  }

  // The errno of the write that failed; 0 when none has.
  int error() const { return error_; }

 private:
  std::string buffer_;
  int error_ = 0;
};

enum class Format { kTable, kJsonLines, kCsv };

// Prints records as they stream in: as a table at the end, or as JSON lines or CSV rows written once per message.
class RecordPrinter {
 public:
  explicit RecordPrinter(Format format) : format_(format) {}

  // False once stdout fails: the stream should stop.
  bool Print(const v1::CustomerMonthlyUsageRecord& record) {
    if (format_ == Format::kTable) {
      table_.AddRecord(record);
      return true;
    }
    std::string& out = StartOutput();
    const bool printed =
        format_ == Format::kCsv ? AppendRecordCsvRow(record, &out) : AppendRecordJsonLine(record, &out);
    if (!printed) {
      ++unprintable_;
      std::cerr << kProgram << ": cannot print the record of tenant \"" << record.resource_id() << "\" as "
                << (format_ == Format::kCsv ? "CSV" : "JSON") << "\n";
      return true;
    }
    if (format_ == Format::kJsonLines) out.push_back('\n');
    if (out.size() >= kBytesPerWrite) stdout_.Flush();
    stopped_stream_ = stdout_.error() != 0;
    return !stopped_stream_;
  }

  // Writes what is buffered: called at the end of each message, so a record never waits in the buffer for the next
  // message to arrive. The CSV header goes out with the first message, even one without records.
  void EndMessage() {
    if (format_ == Format::kTable) return;
    StartOutput();
    stdout_.Flush();
  }

  // Writes the table, if any, once the stream has ended, and what is still buffered.
  void Finish(const grpc::Status& status) {
    if (format_ == Format::kTable && (status.ok() || table_.size() > 0)) stdout_.buffer() = table_.ToString();
    if (format_ == Format::kCsv && status.ok()) StartOutput();
    stdout_.Flush();
  }

  // The errno of the write to stdout that failed; 0 when none has.
  int output_error() const { return stdout_.error(); }
  // Whether Print stopped the stream because stdout failed.
  bool stopped_stream() const { return stopped_stream_; }
  int64_t unprintable() const { return unprintable_; }

 private:
  // Records go to stdout in writes of about this many bytes (or a message's worth), not one per record.
  static constexpr std::size_t kBytesPerWrite = 1 << 16;

  // The output buffer, with the CSV header in it before anything else.
  std::string& StartOutput() {
    if (format_ == Format::kCsv && !header_written_) {
      stdout_.buffer().append(CsvHeader());
      header_written_ = true;
    }
    return stdout_.buffer();
  }

  const Format format_;
  Stdout stdout_;
  TableWriter table_;
  bool header_written_ = false;
  bool stopped_stream_ = false;
  int64_t unprintable_ = 0;
};

// Where the records came from, for the summary: when their walk of Partner Center started, and whether it was
// another call's.
std::string SnapshotText(const ListSummary& summary) {
  if (!summary.snapshot_time.has_value()) return "";
  return absl::StrCat("; listed by Partner Center from ",
                      absl::FormatTime(absl::RFC3339_sec, *summary.snapshot_time, absl::UTCTimeZone()),
                      summary.from_shared_snapshot ? " (a snapshot shared with other calls)" : "");
}

// A failed call's status on stderr: its code, message, ErrorInfo reason and RetryInfo delay. Takes a ListSummary or
// a WatchSummary.
template <typename Summary>
void PrintCallError(const Summary& summary) {
  std::cerr << kProgram << ": " << StatusCodeName(summary.status.error_code()) << ": " << summary.status.error_message()
            << "\n";
  if (summary.error_info.has_value()) std::cerr << kProgram << ": reason " << summary.error_info->reason() << "\n";
  if (summary.retry_info.has_value()) {
    std::cerr << kProgram << ": the server suggests retrying after " << summary.retry_info->retry_delay().seconds()
              << "s\n";
  }
}

// The summary on stderr, and the exit status.
int Report(const ListSummary& summary, const RecordPrinter& printer) {
  // The reader of stdout went away (`pcusage_cli list | head`) and the call was cancelled for it, or had ended well:
  // like other Unix tools, end quietly and successfully. A call that had failed on its own is still reported.
  const bool reader_gone = printer.output_error() == EPIPE;
  if (reader_gone && (summary.status.ok() || printer.stopped_stream())) return 0;
  std::cerr << summary.records << " records in " << summary.messages << " messages; Partner Center totalCount "
            << (summary.partner_center_total_count.has_value() ? absl::StrCat(*summary.partner_center_total_count)
                                                               : "unknown")
            << "; MS-CorrelationId " << (summary.correlation_id.empty() ? "unknown" : summary.correlation_id)
            << SnapshotText(summary) << "\n";
  if (printer.output_error() != 0 && !reader_gone) {
    std::cerr << kProgram << ": writing to stdout failed: " << std::strerror(printer.output_error()) << "\n";
    return kExitFailure;
  }
  if (!summary.status.ok()) {
    PrintCallError(summary);
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

// Prints budget events as they arrive, each in a write of its own.
class EventPrinter {
 public:
  explicit EventPrinter(Format format) : format_(format) {}

  // False once stdout fails: the stream should stop.
  bool Print(const v1::WatchBudgetsResponse& response) {
    std::string& out = stdout_.buffer();
    if (format_ == Format::kTable) {
      AppendWatchEventLine(response, absl::Now(), &out);
    } else if (!AppendWatchResponseJsonLine(response, &out)) {
      ++unprintable_;
      std::cerr << kProgram << ": cannot print a WatchBudgets message as JSON\n";
      return true;
    }
    stopped_stream_ = !stdout_.Flush();
    return !stopped_stream_;
  }

  // The errno of the write to stdout that failed; 0 when none has.
  int output_error() const { return stdout_.error(); }
  // Whether Print stopped the stream because stdout failed.
  bool stopped_stream() const { return stopped_stream_; }
  int64_t unprintable() const { return unprintable_; }

 private:
  const Format format_;
  Stdout stdout_;
  bool stopped_stream_ = false;
  int64_t unprintable_ = 0;
};

// Ends a watch from outside its stream: on SIGINT or SIGTERM, or as soon as the reader of stdout goes away (a watch
// may wait hours for its next event, and only a write would otherwise notice). A thread of this object's polls a
// signalfd and stdout and cancels the call, so that no work happens in a signal handler.
class WatchStopper {
 public:
  enum class Cause { kNone, kSignal, kReaderGone };

  // Blocks SIGINT and SIGTERM in the calling thread and so in the threads started after it (gRPC's), as the
  // signalfd needs: call it before anything starts one.
  static void BlockSignals() {
    const sigset_t signals = StopSignals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  }

  // Starts watching for the signals (which BlockSignals must have blocked) and stdout, to cancel `cancellation`.
  static absl::StatusOr<std::unique_ptr<WatchStopper>> Start(CallCancellation& cancellation) {
    const sigset_t signals = StopSignals();
    const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
    if (signal_fd < 0) return absl::InternalError(absl::StrCat("signalfd: ", std::strerror(errno)));
    const int wake_fd = eventfd(0, EFD_CLOEXEC);
    if (wake_fd < 0) {
      const int error = errno;
      ::close(signal_fd);
      return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(error)));
    }
    return std::unique_ptr<WatchStopper>(new WatchStopper(cancellation, signal_fd, wake_fd));
  }

  // Stops watching.
  ~WatchStopper() {
    const uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof(one)) < 0) std::perror("pcusage_cli: eventfd");
    thread_.join();
    ::close(signal_fd_);
    ::close(wake_fd_);
  }

  WatchStopper(const WatchStopper&) = delete;
  WatchStopper& operator=(const WatchStopper&) = delete;

  // Why the call was cancelled; kNone when it was not by this object.
  Cause cause() const { return cause_; }

 private:
  WatchStopper(CallCancellation& cancellation, int signal_fd, int wake_fd)
      : signal_fd_(signal_fd), wake_fd_(wake_fd), thread_([this, &cancellation] {
          const Cause cause = Wait();
          if (cause == Cause::kNone) return;
          cause_ = cause;
          cancellation.Cancel();
        }) {}

  static sigset_t StopSignals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    return signals;
  }

  // Waits for a signal, stdout's reader going away, or the wake-up of the destructor (kNone).
  Cause Wait() const {
    // Stdout asks for no event: a pipe whose reader has gone reports POLLERR, a terminal hung up POLLHUP, and a
    // regular file nothing.
    pollfd fds[] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {STDOUT_FILENO, 0, 0}};
    while (true) {
      if (::poll(fds, std::size(fds), -1) < 0) {
        if (errno == EINTR) continue;
        return Cause::kNone;
      }
      if (fds[0].revents != 0) return Cause::kSignal;
      if (fds[1].revents != 0) return Cause::kNone;
      if ((fds[2].revents & (POLLERR | POLLHUP)) != 0) return Cause::kReaderGone;
      // POLLNVAL: stdout is not open; a write will say so.
      if (fds[2].revents != 0) fds[2].fd = -1;
    }
  }

  const int signal_fd_;
  const int wake_fd_;
  std::atomic<Cause> cause_{Cause::kNone};
  std::thread thread_;
};

// The exit status of a watch, with what stderr should say.
int ReportWatch(const WatchSummary& summary, const EventPrinter& printer, WatchStopper::Cause stopped_by) {
  // Ended by its user (Ctrl-C) or by the reader of stdout going away (`pcusage_cli watch | head`): the watch did what
  // was asked, so end quietly and successfully.
  const bool cancelled = summary.status.error_code() == grpc::StatusCode::CANCELLED;
  const bool reader_gone = printer.output_error() == EPIPE;
  if (cancelled && (stopped_by != WatchStopper::Cause::kNone || (reader_gone && printer.stopped_stream()))) return 0;
  std::cerr << summary.messages << " events; MS-CorrelationId "
            << (summary.correlation_id.empty() ? "unknown" : summary.correlation_id) << "\n";
  if (printer.output_error() != 0 && !reader_gone) {
    std::cerr << kProgram << ": writing to stdout failed: " << std::strerror(printer.output_error()) << "\n";
    return kExitFailure;
  }
  if (!summary.status.ok()) {
    PrintCallError(summary);
    return kExitFailure;
  }
  if (printer.unprintable() > 0) {
    std::cerr << kProgram << ": " << printer.unprintable() << " events could not be printed\n";
    return kExitFailure;
  }
  return 0;
}

Format FormatFlag() {
  const std::string format = absl::GetFlag(FLAGS_format);
  return format == "csv" ? Format::kCsv : format == "jsonl" ? Format::kJsonLines : Format::kTable;
}

// What every call needs: a channel to --server and the credentials to send.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::string access_token;
  std::string api_key;
};

// The connection the flags describe; errors are usage errors.
absl::StatusOr<Connection> Connect() {
  Connection connection;
  absl::StatusOr<std::string> token = AccessToken();
  if (!token.ok()) return token.status();
  connection.access_token = *std::move(token);
  absl::StatusOr<std::string> api_key = ApiKey();
  if (!api_key.ok()) return api_key.status();
  connection.api_key = *std::move(api_key);
  if (!connection.api_key.empty() && !TlsRequested() && !IsLoopbackTarget(absl::GetFlag(FLAGS_server))) {
    return absl::InvalidArgumentError(
        absl::StrCat("an API key is sent in plaintext only to a loopback address, not to \"",
                     absl::GetFlag(FLAGS_server), "\": use --tls"));
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel();
  if (!channel.ok()) return channel.status();
  connection.channel = *std::move(channel);
  return connection;
}

int List(const CommandLine& command_line) {
  absl::StatusOr<Connection> connection = Connect();
  if (!connection.ok()) return UsageError(connection.status().message());
  ListOptions options;
  options.page_size = absl::GetFlag(FLAGS_page_size);
  options.timeout = Timeout(Subcommand::kList, command_line);
  options.access_token = std::move(connection->access_token);
  options.api_key = std::move(connection->api_key);
  options.correlation_id = absl::GetFlag(FLAGS_correlation_id);
  options.resume_token = absl::GetFlag(FLAGS_resume_token);
  options.max_staleness = *MaxStaleness();
  options.customer_ids = absl::GetFlag(FLAGS_customer_ids);
  options.currency_codes = absl::GetFlag(FLAGS_currency_codes);
  if (const std::string minimum = absl::GetFlag(FLAGS_min_percent_used); !minimum.empty()) {
    options.min_percent_used = minimum;
  }
  options.only_with_budget = absl::GetFlag(FLAGS_only_with_budget);
  UsageRecordsClient client(std::move(connection->channel));
  RecordPrinter printer(FormatFlag());
  const ListSummary summary = client.ListUsageRecords(
      options, [&printer](const v1::CustomerMonthlyUsageRecord& record) { return printer.Print(record); },
      [&printer] { printer.EndMessage(); });
  printer.Finish(summary.status);
  return Report(summary, printer);
}

int Watch(const CommandLine& command_line) {
  // Before the channel, whose threads must inherit the blocked signals.
  WatchStopper::BlockSignals();
  absl::StatusOr<Connection> connection = Connect();
  if (!connection.ok()) return UsageError(connection.status().message());
  CallCancellation cancellation;
  WatchOptions options;
  options.thresholds = absl::GetFlag(FLAGS_thresholds);
  options.customer_ids = absl::GetFlag(FLAGS_customer_ids);
  options.currency_codes = absl::GetFlag(FLAGS_currency_codes);
  if (const absl::Duration interval = absl::GetFlag(FLAGS_poll_interval); interval > absl::ZeroDuration()) {
    options.poll_interval = interval;
  }
  options.timeout = Timeout(Subcommand::kWatch, command_line);
  options.access_token = std::move(connection->access_token);
  options.api_key = std::move(connection->api_key);
  options.correlation_id = absl::GetFlag(FLAGS_correlation_id);
  options.cancellation = &cancellation;
  UsageRecordsClient client(std::move(connection->channel));
  EventPrinter printer(FormatFlag());
  absl::StatusOr<std::unique_ptr<WatchStopper>> stopper = WatchStopper::Start(cancellation);
  if (!stopper.ok()) {
    std::cerr << kProgram << ": " << stopper.status().message() << "\n";
    return kExitFailure;
  }
  const WatchSummary summary = client.WatchBudgets(
      options, [&printer](const v1::WatchBudgetsResponse& response) { return printer.Print(response); });
  const WatchStopper::Cause stopped_by = (*stopper)->cause();
  stopper->reset();
  return ReportWatch(summary, printer, stopped_by);
}

int Run(int argc, char** argv) {
  absl::StatusOr<CommandLine> command_line = ParseArguments(argc, argv);
  if (!command_line.ok()) return UsageError(command_line.status().message());
  const std::vector<std::string>& arguments = command_line->arguments;
  if (command_line->help || (arguments.size() == 1 && arguments[0] == "help")) {
    std::cout << Help();
    return 0;
  }
  if (command_line->version) {
    std::cout << pcusage::build_info::VersionText(kProgram);
    return 0;
  }
  if (arguments.empty()) return UsageError("missing subcommand");
  if (arguments[0] != "list" && arguments[0] != "watch") {
    return UsageError(absl::StrCat("unknown subcommand \"", arguments[0], "\""));
  }
  if (arguments.size() > 1) return UsageError(absl::StrCat("unexpected argument \"", arguments[1], "\""));
  const Subcommand subcommand = arguments[0] == "list" ? Subcommand::kList : Subcommand::kWatch;
  if (absl::Status flags = CheckFlags(subcommand, *command_line); !flags.ok()) return UsageError(flags.message());
  return subcommand == Subcommand::kList ? List(*command_line) : Watch(*command_line);
}

}  // namespace
}  // namespace pcusage::client

int main(int argc, char** argv) {
  // A closed pipe (`pcusage_cli list | head`) shows up as a write failing with EPIPE, not as a signal.
  std::signal(SIGPIPE, SIG_IGN);
  return pcusage::client::Run(argc, argv);
}
