package pcusage

import (
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every pcusage error.
const ErrorDomain = "pcusage"

// The google.rpc.ErrorInfo reasons pcusage sends (docs/api.md, "Errors").
// They are stable: compare [Reason] against them rather than matching
// messages.
const (
	ReasonCallerUnauthenticated         = "CALLER_UNAUTHENTICATED"
	ReasonStreamLimitReached            = "STREAM_LIMIT_REACHED"
	ReasonInvalidArgument               = "INVALID_ARGUMENT"
	ReasonResumeTokenInvalid            = "RESUME_TOKEN_INVALID"
	ReasonResumeTokenExpired            = "RESUME_TOKEN_EXPIRED"
	ReasonAccessTokenMissing            = "ACCESS_TOKEN_MISSING"
	ReasonRefreshTokenInvalid           = "REFRESH_TOKEN_INVALID"
	ReasonTokenRequestRejected          = "TOKEN_REQUEST_REJECTED"
	ReasonTokenEndpointUnavailable      = "TOKEN_ENDPOINT_UNAVAILABLE"
	ReasonPartnerCenterUnauthenticated  = "PARTNER_CENTER_UNAUTHENTICATED"
	ReasonPartnerCenterPermissionDenied = "PARTNER_CENTER_PERMISSION_DENIED"
	ReasonPartnerCenterNotFound         = "PARTNER_CENTER_NOT_FOUND"
	ReasonPartnerCenterRateLimited      = "PARTNER_CENTER_RATE_LIMITED"
	ReasonPartnerCenterUnavailable      = "PARTNER_CENTER_UNAVAILABLE"
	ReasonPartnerCenterTimeout          = "PARTNER_CENTER_TIMEOUT"
	ReasonPartnerCenterRejectedRequest  = "PARTNER_CENTER_REJECTED_REQUEST"
	ReasonPartnerCenterBadResponse      = "PARTNER_CENTER_BAD_RESPONSE"
	ReasonPartnerCenterUnreachable      = "PARTNER_CENTER_UNREACHABLE"
	ReasonPartnerCenterResponseTooLarge = "PARTNER_CENTER_RESPONSE_TOO_LARGE"
	ReasonPartnerCenterPagingLoop       = "PARTNER_CENTER_PAGING_LOOP"
	ReasonSnapshotReaderTooSlow         = "SNAPSHOT_READER_TOO_SLOW"
	ReasonCallDeadlineExceeded          = "CALL_DEADLINE_EXCEEDED"
	ReasonCallCancelled                 = "CALL_CANCELLED"
)

// ErrorInfo returns the google.rpc.ErrorInfo detail of a failed call's error
// (domain, reason and metadata such as ms_correlation_id), or nil when err
// carries none: it is nil, not a gRPC status, or ended on the caller's side
// (e.g. its own deadline).
func ErrorInfo(err error) *errdetails.ErrorInfo {
	return detail[*errdetails.ErrorInfo](err)
}

// RetryInfo returns the google.rpc.RetryInfo detail of a failed call's error,
// or nil. pcusage sends one with RESOURCE_EXHAUSTED when Partner Center
// throttles.
func RetryInfo(err error) *errdetails.RetryInfo {
	return detail[*errdetails.RetryInfo](err)
}

// Reason returns the ErrorInfo reason of err, e.g.
// [ReasonPartnerCenterRateLimited], or "" when it has none.
func Reason(err error) string {
	return ErrorInfo(err).GetReason()
}

// RetryDelay returns how long to wait before calling again, from err's
// RetryInfo, and whether it had one.
func RetryDelay(err error) (time.Duration, bool) {
	info := RetryInfo(err)
	if info == nil || info.GetRetryDelay() == nil {
		return 0, false
	}
	return info.GetRetryDelay().AsDuration(), true
}

// detail returns the first detail of type T in err's status.
func detail[T any](err error) T {
	var zero T
	if err == nil {
		return zero
	}
	st, ok := status.FromError(err)
	if !ok {
		return zero
	}
	for _, d := range st.Details() {
		if t, ok := d.(T); ok {
			return t
		}
	}
	return zero
}
