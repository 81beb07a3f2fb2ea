// The one table that says what an upstream HTTP status means to pcusage: the canonical code a caller gets, the
// ErrorInfo reason a Partner Center call ends with, and whether a retry can help. The page fetch and the token
// endpoint both consult it, so a status is never retried in one place and final in another.
#ifndef PCUSAGE_SERVER_HTTP_HTTP_STATUS_H_
#define PCUSAGE_SERVER_HTTP_HTTP_STATUS_H_

#include "absl/status/status.h"
#include "server/http/retry_policy.h"

namespace pcusage::http {

struct HttpStatusPolicy {
  absl::StatusCode code;
  const char* reason;  // a reason of server/common/error_details.h
  FailureKind retry;   // kPermanent: a retry gets the same answer
};

// 400 INTERNAL (the request carries nothing of the caller's, so the fault is pcusage's or Partner Center's),
// 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 408 DEADLINE_EXCEEDED (retried like a time-out),
// 409 ABORTED, 412 FAILED_PRECONDITION, 429 RESOURCE_EXHAUSTED (retried after Retry-After), 501 UNIMPLEMENTED,
// 500/502/503/504 UNAVAILABLE (retried), other 5xx UNAVAILABLE, other 4xx FAILED_PRECONDITION, anything else (3xx:
// redirects are not followed) INTERNAL.
HttpStatusPolicy HttpStatusPolicyFor(int http_status);

}  // namespace pcusage::http

#endif  // PCUSAGE_SERVER_HTTP_HTTP_STATUS_H_
