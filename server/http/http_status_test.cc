#include "server/http/http_status.h"

#include <string>

#include "gtest/gtest.h"

namespace pcusage::http {
namespace {

TEST(HttpStatusPolicyTest, Table) {
  struct Row {
    int http_status;
    absl::StatusCode code;
    std::string reason;
    FailureKind retry;
  };
  const Row table[] = {
      {400, absl::StatusCode::kInternal, "PARTNER_CENTER_REJECTED_REQUEST", FailureKind::kPermanent},
      {401, absl::StatusCode::kUnauthenticated, "PARTNER_CENTER_UNAUTHENTICATED", FailureKind::kPermanent},
      {403, absl::StatusCode::kPermissionDenied, "PARTNER_CENTER_PERMISSION_DENIED", FailureKind::kPermanent},
      {404, absl::StatusCode::kNotFound, "PARTNER_CENTER_NOT_FOUND", FailureKind::kPermanent},
      {408, absl::StatusCode::kDeadlineExceeded, "PARTNER_CENTER_TIMEOUT", FailureKind::kTimeout},
      {409, absl::StatusCode::kAborted, "PARTNER_CENTER_REJECTED_REQUEST", FailureKind::kPermanent},
      {412, absl::StatusCode::kFailedPrecondition, "PARTNER_CENTER_REJECTED_REQUEST", FailureKind::kPermanent},
      {418, absl::StatusCode::kFailedPrecondition, "PARTNER_CENTER_REJECTED_REQUEST", FailureKind::kPermanent},
      {429, absl::StatusCode::kResourceExhausted, "PARTNER_CENTER_RATE_LIMITED", FailureKind::kThrottled},
      {500, absl::StatusCode::kUnavailable, "PARTNER_CENTER_UNAVAILABLE", FailureKind::kServerError},
      {501, absl::StatusCode::kUnimplemented, "PARTNER_CENTER_UNAVAILABLE", FailureKind::kPermanent},
      {502, absl::StatusCode::kUnavailable, "PARTNER_CENTER_UNAVAILABLE", FailureKind::kServerError},
      {503, absl::StatusCode::kUnavailable, "PARTNER_CENTER_UNAVAILABLE", FailureKind::kServerError},
      {504, absl::StatusCode::kUnavailable, "PARTNER_CENTER_UNAVAILABLE", FailureKind::kServerError},
      {507, absl::StatusCode::kUnavailable, "PARTNER_CENTER_UNAVAILABLE", FailureKind::kPermanent},
      {302, absl::StatusCode::kInternal, "PARTNER_CENTER_BAD_RESPONSE", FailureKind::kPermanent},
      {0, absl::StatusCode::kInternal, "PARTNER_CENTER_BAD_RESPONSE", FailureKind::kPermanent},
  };
  for (const Row& row : table) {
    const HttpStatusPolicy policy = HttpStatusPolicyFor(row.http_status);
    EXPECT_EQ(policy.code, row.code) << row.http_status;
    EXPECT_EQ(policy.reason, row.reason) << row.http_status;
    EXPECT_EQ(policy.retry, row.retry) << row.http_status;
  }
}

}  // namespace
}  // namespace pcusage::http
