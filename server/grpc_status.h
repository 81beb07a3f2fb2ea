// The one place where pcusage's internal absl::Status becomes the grpc::Status a caller sees.
#ifndef PCUSAGE_SERVER_GRPC_STATUS_H_
#define PCUSAGE_SERVER_GRPC_STATUS_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace pcusage {

// Same code (absl and gRPC share the canonical codes), same message, and a google.rpc.Status with the status's
// ErrorInfo/RetryInfo/BadRequest payloads as details (the grpc-status-details-bin trailer). A status without an
// ErrorInfo gets one whose reason is the code's name, so every error carries one; `metadata` (the call's correlation
// id, say) is added to it. The message, ErrorInfo metadata and field violations pass through the sanitizer
// (common/printable.h) and are bounded. OK stays OK.
grpc::Status ToGrpcStatus(const absl::Status& status, const std::map<std::string, std::string>& metadata = {});

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_GRPC_STATUS_H_
