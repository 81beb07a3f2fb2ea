#include "server/library_logs.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "grpc/support/log.h"
#include "server/common/log.h"

namespace pcusage {
namespace {

void FromGrpc(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kError;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = LogLevel::kInfo;
  LogEvent(
      level, args->message != nullptr ? args->message : "",
      {{"component", "grpc"}, {"source", absl::StrCat(args->file != nullptr ? args->file : "?", ":", args->line)}});
}

// Protobuf's errors at run time come from parsing what a peer sent (a request with a string that is not UTF-8):
// worth a warning, not an error of the server's.
void FromProtobuf(google::protobuf::LogLevel protobuf_level, const char* file, int line, const std::string& message) {
  const LogLevel level = protobuf_level == google::protobuf::LOGLEVEL_FATAL  ? LogLevel::kError
                         : protobuf_level == google::protobuf::LOGLEVEL_INFO ? LogLevel::kInfo
                                                                             : LogLevel::kWarning;
  LogEvent(level, message,
           {{"component", "protobuf"}, {"source", absl::StrCat(file != nullptr ? file : "?", ":", line)}});
}

}  // namespace

void RouteLibraryLogs() {
  gpr_set_log_function(&FromGrpc);
  google::protobuf::SetLogHandler(&FromProtobuf);
}

}  // namespace pcusage
