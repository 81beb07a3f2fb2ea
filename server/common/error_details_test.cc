#include "server/common/error_details.h"

#include "gtest/gtest.h"

namespace pcusage {
namespace {

TEST(ErrorDetailsTest, ErrorInfoRoundTrips) {
  absl::Status status =
      WithErrorInfo(absl::UnavailableError("down"), reason::kPartnerCenterUnavailable, {{"http_status", "503"}});
  status = WithErrorMetadata(status, "ms_correlation_id", "c-1");
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "PARTNER_CENTER_UNAVAILABLE");
  EXPECT_EQ(info->domain(), "pcusage");
  EXPECT_EQ(info->metadata().at("http_status"), "503");
  EXPECT_EQ(info->metadata().at("ms_correlation_id"), "c-1");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "down");
}

TEST(ErrorDetailsTest, LaterErrorInfoReplacesEarlier) {
  absl::Status status = WithErrorInfo(absl::InternalError("x"), "FIRST", {{"a", "1"}});
  status = WithErrorInfo(status, "SECOND");
  EXPECT_EQ(GetErrorInfo(status)->reason(), "SECOND");
  EXPECT_TRUE(GetErrorInfo(status)->metadata().empty());
}

TEST(ErrorDetailsTest, RetryInfoKeepsSubSecondDelays) {
  absl::Status status = WithRetryInfo(absl::ResourceExhaustedError("slow down"), absl::Milliseconds(7250));
  std::optional<google::rpc::RetryInfo> info = GetRetryInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->retry_delay().seconds(), 7);
  EXPECT_EQ(info->retry_delay().nanos(), 250000000);
}

TEST(ErrorDetailsTest, AppendToMessageKeepsCodeAndDetails) {
  absl::Status status = WithRetryInfo(WithErrorInfo(absl::UnavailableError("down"), "R"), absl::Seconds(2));
  absl::Status annotated = AppendToMessage(status, " after 3 attempts");
  EXPECT_EQ(annotated.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(annotated.message(), "down after 3 attempts");
  EXPECT_EQ(GetErrorInfo(annotated)->reason(), "R");
  EXPECT_EQ(GetRetryInfo(annotated)->retry_delay().seconds(), 2);
  EXPECT_TRUE(AppendToMessage(absl::OkStatus(), "x").ok());
}

TEST(ErrorDetailsTest, OkStaysOkAndPlainStatusesHaveNoDetails) {
  EXPECT_TRUE(WithErrorInfo(absl::OkStatus(), "X").ok());
  EXPECT_TRUE(WithRetryInfo(absl::OkStatus(), absl::Seconds(1)).ok());
  EXPECT_FALSE(GetErrorInfo(absl::InternalError("plain")).has_value());
  EXPECT_FALSE(GetRetryInfo(absl::InternalError("plain")).has_value());
  EXPECT_FALSE(GetErrorInfo(WithErrorMetadata(absl::InternalError("plain"), "k", "v")).has_value());
}

TEST(ErrorDetailsTest, RetryInfoIsAlwaysAValidDuration) {
  for (const auto& [delay, seconds] : {std::pair<absl::Duration, int64_t>{absl::InfiniteDuration(), 86400},
                                       {absl::Seconds(99999999999), 86400},
                                       {-absl::Seconds(5), 0},
                                       {-absl::InfiniteDuration(), 0},
                                       {absl::Milliseconds(1500), 1}}) {
    std::optional<google::rpc::RetryInfo> info = GetRetryInfo(WithRetryInfo(absl::UnavailableError("x"), delay));
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->retry_delay().seconds(), seconds) << delay;
    EXPECT_GE(info->retry_delay().nanos(), 0) << delay;
    EXPECT_LT(info->retry_delay().nanos(), 1000000000) << delay;
  }
}

TEST(ErrorDetailsTest, FieldViolationsAccumulateInOneBadRequest) {
  EXPECT_TRUE(WithFieldViolation(absl::OkStatus(), "page_size", "x").ok());
  EXPECT_FALSE(GetBadRequest(absl::InvalidArgumentError("no details")).has_value());
  absl::Status status = WithErrorInfo(absl::InvalidArgumentError("bad"), reason::kInvalidArgument);
  status = WithFieldViolation(status, "page_size", "must not be negative");
  status = WithFieldViolation(status, "max_staleness", "must not be negative");
  const std::optional<google::rpc::BadRequest> bad_request = GetBadRequest(status);
  ASSERT_TRUE(bad_request.has_value());
  ASSERT_EQ(bad_request->field_violations_size(), 2);
  EXPECT_EQ(bad_request->field_violations(0).field(), "page_size");
  EXPECT_EQ(bad_request->field_violations(0).description(), "must not be negative");
  EXPECT_EQ(bad_request->field_violations(1).field(), "max_staleness");
  EXPECT_EQ(GetErrorInfo(status)->reason(), "INVALID_ARGUMENT");
  EXPECT_EQ(status.message(), "bad");
}

}  // namespace
}  // namespace pcusage
