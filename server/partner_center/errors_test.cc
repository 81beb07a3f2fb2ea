#include "server/partner_center/errors.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"

namespace pcusage::partner_center {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParsePartnerCenterErrorTest, ReadsBothShapes) {
  std::optional<PartnerCenterError> error = ParsePartnerCenterError(
      R"({"code": 3000, "description": "Customer does not have usage data", "data": [], "source": "PartnerFD"})");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, "3000");
  EXPECT_EQ(error->description, "Customer does not have usage data");

  error =
      ParsePartnerCenterError(R"({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 7 seconds."})");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, "429");
  EXPECT_EQ(error->description, "Rate limit is exceeded. Try again in 7 seconds.");
}

TEST(ParsePartnerCenterErrorTest, IgnoresOtherBodies) {
  EXPECT_FALSE(ParsePartnerCenterError("").has_value());
  EXPECT_FALSE(ParsePartnerCenterError("<html>502 Bad Gateway</html>").has_value());
  EXPECT_FALSE(ParsePartnerCenterError("[1]").has_value());
  EXPECT_FALSE(ParsePartnerCenterError(R"({"unrelated": true})").has_value());
}

TEST(ParsePartnerCenterErrorTest, DescriptionIsTrimmedAndCleaned) {
  std::optional<PartnerCenterError> error =
      ParsePartnerCenterError(R"({"code": "600", "description": "  line one\nline two\u0007  "})");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->description, "line one line two");

  const std::string long_text(5000, 'x');
  error = ParsePartnerCenterError(R"({"code": 1, "description": ")" + long_text + R"("})");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->description.size(), kMaxErrorDescriptionLength + 3);
}

TEST(ErrorFromResponseTest, MessageCarriesPartnerCenterDetails) {
  http::HttpResponse response;
  response.status_code = 429;
  response.headers = {{"retry-after", "7"}};
  response.body = R"({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 7 seconds."})";
  absl::Status status = ErrorFromResponse(response, "e128c8e2-4c33-4940-a3e2-2e59b0abdc67");
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(),
            "Partner Center answered HTTP 429, error code 429: Rate limit is exceeded. Try again in 7 seconds. "
            "(Retry-After: 7) [MS-RequestId e128c8e2-4c33-4940-a3e2-2e59b0abdc67]");
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "PARTNER_CENTER_RATE_LIMITED");
  EXPECT_EQ(info->metadata().at("http_status"), "429");
  EXPECT_EQ(info->metadata().at("partner_center_error_code"), "429");
  EXPECT_EQ(info->metadata().at("ms_request_id"), "e128c8e2-4c33-4940-a3e2-2e59b0abdc67");

  response = http::HttpResponse{};
  response.status_code = 502;
  response.body = "<html>Bad Gateway</html>";
  status = ErrorFromResponse(response, "id");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "Partner Center answered HTTP 502 [MS-RequestId id]");
  EXPECT_EQ(GetErrorInfo(status)->metadata().count("partner_center_error_code"), 0u);
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("html")));
}

TEST(ParseRetryAfterTest, PartnerCenterThrottlingMessage) {
  EXPECT_EQ(ParseRetryAfterMessage("Rate limit is exceeded. Try again in 7 seconds."), absl::Seconds(7));
  EXPECT_EQ(ParseRetryAfterMessage("try again in 1 second"), absl::Seconds(1));
  EXPECT_FALSE(ParseRetryAfterMessage("Rate limit is exceeded.").has_value());
  EXPECT_FALSE(ParseRetryAfterMessage("Try again in a few seconds.").has_value());
  EXPECT_FALSE(ParseRetryAfterMessage("Try again in 5 minutes.").has_value());
}

}  // namespace
}  // namespace pcusage::partner_center
