// The one place where pcusage's internal absl::Status becomes the grpc::Status a caller sees.
#ifndef PCUSAGE_SERVER_GRPC_STATUS_H_
#define PCUSAGE_SERVER_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace pcusage {

// Same code (absl and gRPC share the canonical codes), same message. OK stays OK.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_GRPC_STATUS_H_
