// What pcusage's RPC handlers read from a call's metadata, read one way for every method: a key's value, the
// caller's bearer token held out of every text the call produces, and the MS-CorrelationId to use.
#ifndef PCUSAGE_SERVER_CALL_METADATA_H_
#define PCUSAGE_SERVER_CALL_METADATA_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "server/common/secrets.h"

namespace pcusage {

// Caller metadata naming the MS-CorrelationId to use; also returned in the initial metadata.
inline constexpr char kCorrelationIdMetadata[] = "x-ms-correlation-id";

// The value of metadata `key` (lowercase), if the caller sent it; valid while the call lives.
std::optional<absl::string_view> CallMetadata(const grpc::ServerContext& context, absl::string_view key);

// Holds the caller's own bearer token (or, when `authorization` is no bearer token, its whole value) as a secret
// for the life of the returned hold, so nothing the call says, to it or in the log, quotes it (secrets.h).
SecretHold HoldCallerToken(const grpc::ServerContext& context);

// The MS-CorrelationId the caller sent, or a new one; INVALID_ARGUMENT (a BadRequest naming the metadata key) when
// what it sent is no GUID.
absl::StatusOr<std::string> CorrelationId(const grpc::ServerContext& context);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_CALL_METADATA_H_
