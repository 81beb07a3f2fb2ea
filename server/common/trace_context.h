// W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace id a caller's `traceparent` metadata names,
// so the server's log lines of a call can be joined to the caller's trace. Only a well-formed header counts; the
// value logged is the 32 lowercase hex digits, never the caller's raw text.
#ifndef PCUSAGE_SERVER_COMMON_TRACE_CONTEXT_H_
#define PCUSAGE_SERVER_COMMON_TRACE_CONTEXT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace pcusage {

inline constexpr char kTraceparentMetadata[] = "traceparent";

// The trace id of `traceparent` ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", or a later version with
// the same first four fields); nullopt when it is malformed, or either id is all zeros.
std::optional<std::string> TraceIdFromTraceparent(absl::string_view traceparent);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_TRACE_CONTEXT_H_
