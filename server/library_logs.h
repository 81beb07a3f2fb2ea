// Routes what gRPC (gpr_log) and Protobuf write on their own through the server's log (common/log.h), so that every
// line on stderr has --log_format, honours --log_level and passes the secrets sanitizer, whoever wrote it.
#ifndef PCUSAGE_SERVER_LIBRARY_LOGS_H_
#define PCUSAGE_SERVER_LIBRARY_LOGS_H_

namespace pcusage {

// Call once at start, before the libraries log. Not thread safe (Protobuf's SetLogHandler is not).
void RouteLibraryLogs();

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_LIBRARY_LOGS_H_
