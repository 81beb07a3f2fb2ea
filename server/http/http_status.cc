#include "server/http/http_status.h"

#include "server/common/error_details.h"

namespace pcusage::http {

HttpStatusPolicy HttpStatusPolicyFor(int http_status) {
  using absl::StatusCode;
  switch (http_status) {
    case 400:
      return {StatusCode::kInternal, reason::kPartnerCenterRejected, FailureKind::kPermanent};
    case 401:
      return {StatusCode::kUnauthenticated, reason::kPartnerCenterUnauthenticated, FailureKind::kPermanent};
    case 403:
      return {StatusCode::kPermissionDenied, reason::kPartnerCenterPermissionDenied, FailureKind::kPermanent};
    case 404:
      return {StatusCode::kNotFound, reason::kPartnerCenterNotFound, FailureKind::kPermanent};
    case 408:
      return {StatusCode::kDeadlineExceeded, reason::kPartnerCenterTimeout, FailureKind::kTimeout};
    case 409:
      return {StatusCode::kAborted, reason::kPartnerCenterRejected, FailureKind::kPermanent};
    case 412:
      return {StatusCode::kFailedPrecondition, reason::kPartnerCenterRejected, FailureKind::kPermanent};
    case 429:
      return {StatusCode::kResourceExhausted, reason::kRateLimited, FailureKind::kThrottled};
    case 500:
    case 502:
    case 503:
    case 504:
      return {StatusCode::kUnavailable, reason::kPartnerCenterUnavailable, FailureKind::kServerError};
    case 501:
      return {StatusCode::kUnimplemented, reason::kPartnerCenterUnavailable, FailureKind::kPermanent};
    default:
      break;
  }
  if (http_status >= 500 && http_status <= 599) {
    return {StatusCode::kUnavailable, reason::kPartnerCenterUnavailable, FailureKind::kPermanent};
  }
  if (http_status >= 400 && http_status <= 499) {
    return {StatusCode::kFailedPrecondition, reason::kPartnerCenterRejected, FailureKind::kPermanent};
  }
  // Redirects are not followed (they could carry the token elsewhere); anything else is not an answer either.
  return {StatusCode::kInternal, reason::kPartnerCenterBadResponse, FailureKind::kPermanent};
}

}  // namespace pcusage::http
