// Machine-readable error details (AIP-193) carried inside absl::Status as payloads: a google.rpc.ErrorInfo with a
// stable reason and metadata, and a google.rpc.RetryInfo when waiting would help. server/grpc_status.cc sends them
// to callers in the standard grpc-status-details-bin trailer. The reasons callers can rely on are listed here.
#ifndef PCUSAGE_SERVER_COMMON_ERROR_DETAILS_H_
#define PCUSAGE_SERVER_COMMON_ERROR_DETAILS_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"

namespace pcusage {

// ErrorInfo.domain of every pcusage error.
inline constexpr char kErrorDomain[] = "pcusage";

// ErrorInfo.reason values (docs/api.md explains each).
namespace reason {
inline constexpr char kRateLimited[] = "PARTNER_CENTER_RATE_LIMITED";
inline constexpr char kPartnerCenterUnauthenticated[] = "PARTNER_CENTER_UNAUTHENTICATED";
inline constexpr char kPartnerCenterPermissionDenied[] = "PARTNER_CENTER_PERMISSION_DENIED";
inline constexpr char kPartnerCenterNotFound[] = "PARTNER_CENTER_NOT_FOUND";
inline constexpr char kPartnerCenterRejected[] = "PARTNER_CENTER_REJECTED_REQUEST";
inline constexpr char kPartnerCenterUnavailable[] = "PARTNER_CENTER_UNAVAILABLE";
inline constexpr char kPartnerCenterUnreachable[] = "PARTNER_CENTER_UNREACHABLE";
inline constexpr char kPartnerCenterTimeout[] = "PARTNER_CENTER_TIMEOUT";
inline constexpr char kPartnerCenterTlsFailed[] = "PARTNER_CENTER_TLS_FAILED";
inline constexpr char kPartnerCenterBadResponse[] = "PARTNER_CENTER_BAD_RESPONSE";
inline constexpr char kPartnerCenterResponseTooLarge[] = "PARTNER_CENTER_RESPONSE_TOO_LARGE";
inline constexpr char kPartnerCenterPagingLoop[] = "PARTNER_CENTER_PAGING_LOOP";
inline constexpr char kDeadlineExceeded[] = "CALL_DEADLINE_EXCEEDED";
inline constexpr char kCancelled[] = "CALL_CANCELLED";
inline constexpr char kAccessTokenMissing[] = "ACCESS_TOKEN_MISSING";
inline constexpr char kRefreshTokenInvalid[] = "REFRESH_TOKEN_INVALID";
inline constexpr char kTokenRequestRejected[] = "TOKEN_REQUEST_REJECTED";
inline constexpr char kTokenEndpointUnavailable[] = "TOKEN_ENDPOINT_UNAVAILABLE";
inline constexpr char kCallerUnauthenticated[] = "CALLER_UNAUTHENTICATED";
inline constexpr char kInvalidArgument[] = "INVALID_ARGUMENT";
inline constexpr char kResumeTokenInvalid[] = "RESUME_TOKEN_INVALID";
inline constexpr char kResumeTokenExpired[] = "RESUME_TOKEN_EXPIRED";
inline constexpr char kStreamLimitReached[] = "STREAM_LIMIT_REACHED";
inline constexpr char kCallerStreamLimitReached[] = "CALLER_STREAM_LIMIT_REACHED";
inline constexpr char kSnapshotReaderTooSlow[] = "SNAPSHOT_READER_TOO_SLOW";
inline constexpr char kServerDraining[] = "SERVER_DRAINING";
}  // namespace reason

// `status` with an ErrorInfo of `reason` and `metadata` (replacing any earlier ErrorInfo). OK stays OK.
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata = {});

// Adds one metadata entry to the status's ErrorInfo (creating none if it has none). OK stays OK.
absl::Status WithErrorMetadata(absl::Status status, absl::string_view key, absl::string_view value);

// The longest wait a RetryInfo suggests.
inline constexpr absl::Duration kMaxRetryDelay = absl::Hours(24);

// `status` with a RetryInfo asking the caller to wait `delay` (clamped to 0..kMaxRetryDelay, so always a valid
// google.protobuf.Duration) before retrying. OK stays OK.
absl::Status WithRetryInfo(absl::Status status, absl::Duration delay);

// `status` with a google.rpc.BadRequest field violation added (AIP-193: the request field, or metadata key, that
// was wrong, and why). OK stays OK.
absl::Status WithFieldViolation(absl::Status status, absl::string_view field, absl::string_view description);

// INVALID_ARGUMENT about one request field (or metadata key) `field`: `problem` as the message, an ErrorInfo of
// reason INVALID_ARGUMENT naming the field, and a BadRequest field violation (AIP-193).
absl::Status InvalidFieldError(absl::string_view field, absl::string_view problem);

// `status` with `text` appended to its message; code and details are kept. OK stays OK.
absl::Status AppendToMessage(const absl::Status& status, absl::string_view text);

// The ErrorInfo and RetryInfo a status carries, if any.
std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status);
std::optional<google::rpc::RetryInfo> GetRetryInfo(const absl::Status& status);
std::optional<google::rpc::BadRequest> GetBadRequest(const absl::Status& status);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_ERROR_DETAILS_H_
