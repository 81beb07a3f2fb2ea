#include "server/grpc_status.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"

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

}  // namespace
}  // namespace pcusage
