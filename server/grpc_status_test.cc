#include "server/grpc_status.h"

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"
#include "server/common/secrets.h"

namespace pcusage {
namespace {

google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status details;
  EXPECT_TRUE(details.ParseFromString(status.error_details()));
  return details;
}

TEST(ToGrpcStatusTest, KeepsCodeAndMessage) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).error_details().empty());
  const std::pair<absl::Status, grpc::StatusCode> table[] = {
      {absl::InvalidArgumentError("m"), grpc::StatusCode::INVALID_ARGUMENT},
      {absl::UnauthenticatedError("m"), grpc::StatusCode::UNAUTHENTICATED},
      {absl::PermissionDeniedError("m"), grpc::StatusCode::PERMISSION_DENIED},
      {absl::NotFoundError("m"), grpc::StatusCode::NOT_FOUND},
      {absl::ResourceExhaustedError("m"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::UnavailableError("m"), grpc::StatusCode::UNAVAILABLE},
      {absl::DeadlineExceededError("m"), grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::CancelledError("m"), grpc::StatusCode::CANCELLED},
      {absl::InternalError("m"), grpc::StatusCode::INTERNAL},
      {absl::FailedPreconditionError("m"), grpc::StatusCode::FAILED_PRECONDITION},
      {absl::AbortedError("m"), grpc::StatusCode::ABORTED},
      {absl::UnimplementedError("m"), grpc::StatusCode::UNIMPLEMENTED},
      {absl::UnknownError("m"), grpc::StatusCode::UNKNOWN},
  };
  for (const auto& [status, code] : table) {
    grpc::Status converted = ToGrpcStatus(status);
    EXPECT_EQ(converted.error_code(), code) << status;
    EXPECT_EQ(converted.error_message(), "m");
    google::rpc::Status details = Details(converted);
    EXPECT_EQ(details.code(), static_cast<int>(code));
    EXPECT_EQ(details.message(), "m");
  }
}

TEST(ToGrpcStatusTest, EveryErrorCarriesAnErrorInfo) {
  google::rpc::Status details = Details(ToGrpcStatus(absl::InvalidArgumentError("bad")));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "INVALID_ARGUMENT");
  EXPECT_EQ(info.domain(), "pcusage");
}

TEST(ToGrpcStatusTest, ErrorInfoAndRetryInfoBecomeDetails) {
  absl::Status status = WithRetryInfo(
      WithErrorInfo(absl::ResourceExhaustedError("throttled"), reason::kRateLimited, {{"http_status", "429"}}),
      absl::Seconds(3));
  google::rpc::Status details = Details(ToGrpcStatus(status));
  google::rpc::ErrorInfo error_info;
  google::rpc::RetryInfo retry_info;
  for (const google::protobuf::Any& detail : details.details()) {
    if (detail.Is<google::rpc::ErrorInfo>()) {
      ASSERT_TRUE(detail.UnpackTo(&error_info));
    } else if (detail.Is<google::rpc::RetryInfo>()) {
      ASSERT_TRUE(detail.UnpackTo(&retry_info));
    }
  }
  EXPECT_EQ(error_info.reason(), "PARTNER_CENTER_RATE_LIMITED");
  EXPECT_EQ(error_info.metadata().at("http_status"), "429");
  EXPECT_EQ(retry_info.retry_delay().seconds(), 3);
}

google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  google::rpc::ErrorInfo info;
  const google::rpc::Status details = Details(status);
  for (const google::protobuf::Any& detail : details.details()) {
    if (detail.Is<google::rpc::ErrorInfo>()) {
      EXPECT_TRUE(detail.UnpackTo(&info));
    }
  }
  return info;
}

TEST(ToGrpcStatusTest, HeldSecretsAndCredentialsNeverReachTheCaller) {
  SecretHold hold = HoldSecret("the-servers-own-token-1234");
  const absl::Status status = WithErrorInfo(
      absl::UnauthenticatedError("Partner Center answered HTTP 401: token the-servers-own-token-1234 is invalid"),
      reason::kPartnerCenterUnauthenticated,
      {{"partner_center_error_code", "the-servers-own-token-1234"}, {"echo", "refresh_token=abcdef&x=1"}});
  const grpc::Status converted = ToGrpcStatus(status, {{"ms_correlation_id", "Bearer the-servers-own-token-1234"}});
  EXPECT_EQ(converted.error_message(), "Partner Center answered HTTP 401: token [redacted] is invalid");
  const google::rpc::ErrorInfo info = ErrorInfoOf(converted);
  EXPECT_EQ(info.reason(), "PARTNER_CENTER_UNAUTHENTICATED");
  EXPECT_EQ(info.metadata().at("partner_center_error_code"), "[redacted]");
  EXPECT_EQ(info.metadata().at("echo"), "refresh_token=[redacted]&x=1");
  EXPECT_EQ(info.metadata().at("ms_correlation_id"), "Bearer [redacted]");
  EXPECT_EQ(Details(converted).message(), converted.error_message());
}

TEST(ToGrpcStatusTest, MessagesAndMetadataAreBoundedOneLineUtf8) {
  const std::string huge(20000, 'x');
  const absl::Status status = WithErrorInfo(absl::InternalError(absl::StrCat("line one\nline two \xff ", huge)),
                                            reason::kPartnerCenterBadResponse, {{"partner_center_error_code", huge}});
  const grpc::Status converted = ToGrpcStatus(status);
  EXPECT_LE(converted.error_message().size(), 2048u + 3);
  EXPECT_EQ(converted.error_message().rfind("line one line two ? xxx", 0), 0u) << converted.error_message();
  EXPECT_LE(ErrorInfoOf(converted).metadata().at("partner_center_error_code").size(), 256u + 3);
  EXPECT_LT(converted.error_details().size(), 4096u) << "trailers stay far below gRPC's 16 KiB metadata limit";
}

TEST(ToGrpcStatusTest, FieldViolationsBecomeAPrintableBadRequest) {
  SecretHold hold = HoldSecret("the-callers-token-5678");
  const absl::Status status = WithFieldViolation(
      WithErrorInfo(absl::InvalidArgumentError("page_size must not be negative"), reason::kInvalidArgument),
      "page_size", "got -1\nafter the-callers-token-5678");
  const google::rpc::Status details = Details(ToGrpcStatus(status));
  google::rpc::BadRequest bad_request;
  int found = 0;
  for (const google::protobuf::Any& detail : details.details()) {
    if (detail.Is<google::rpc::BadRequest>()) found += detail.UnpackTo(&bad_request) ? 1 : 0;
  }
  ASSERT_EQ(found, 1);
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "page_size");
  EXPECT_EQ(bad_request.field_violations(0).description(), "got -1 after [redacted]");
  EXPECT_EQ(ErrorInfoOf(ToGrpcStatus(status)).reason(), "INVALID_ARGUMENT");
}

}  // namespace
}  // namespace pcusage
