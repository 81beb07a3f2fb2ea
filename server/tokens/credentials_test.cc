#include "server/tokens/credentials.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/mock_http_transport.h"

namespace pcusage::tokens {
namespace {

using ::testing::HasSubstr;

class CredentialsTest : public testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(token_file_) << "at-static\n";
    std::ofstream(refresh_file_) << "rt-1\n";
    config_.cloud = *CloudPreset("public");
  }

  absl::StatusOr<Credentials> Make() { return MakeCredentials(config_, transport_); }

  std::shared_ptr<http::MockHttpTransport> transport_ = std::make_shared<http::MockHttpTransport>();
  std::string token_file_ = std::string(std::getenv("TEST_TMPDIR")) + "/token";
  std::string refresh_file_ = std::string(std::getenv("TEST_TMPDIR")) + "/refresh";
  CredentialsConfig config_;
};

TEST_F(CredentialsTest, DefaultsFollowTheTokenFile) {
  absl::StatusOr<Credentials> passthrough = Make();
  ASSERT_TRUE(passthrough.ok()) << passthrough.status();
  EXPECT_EQ(passthrough->mode, Credentials::Mode::kPassthrough);
  EXPECT_FALSE(passthrough->server_holds_credentials());

  config_.access_token_file = token_file_;
  absl::StatusOr<Credentials> file = Make();
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->mode, Credentials::Mode::kStatic);
  EXPECT_TRUE(file->server_holds_credentials());
  EXPECT_EQ(file->source->TokenForCall(std::nullopt, absl::InfiniteFuture()).value(), "at-static");
}

TEST_F(CredentialsTest, RefreshTokenModeBuildsTheCloudsTokenUrl) {
  config_.auth_mode = "refresh_token";
  config_.tenant_id = "contoso.onmicrosoft.com";
  config_.client_id = "app";
  config_.refresh_token_file = refresh_file_;
  config_.cloud = *CloudPreset("usgov");
  absl::StatusOr<Credentials> credentials = Make();
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_EQ(credentials->mode, Credentials::Mode::kRefreshToken);
  EXPECT_EQ(credentials->description,
            "the refresh-token grant at https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/token");
}

TEST_F(CredentialsTest, IncompleteOrContradictoryConfigurationsNameTheFlag) {
  struct Case {
    std::function<void(CredentialsConfig&)> change;
    std::string flag;
  };
  const Case cases[] = {
      {[](CredentialsConfig& c) { c.auth_mode = "magic"; }, "--auth_mode"},
      {[](CredentialsConfig& c) { c.auth_mode = "static"; }, "--access_token_file"},
      {[this](CredentialsConfig& c) { c.access_token_file = token_file_ + ".missing"; }, "--access_token_file"},
      {[this](CredentialsConfig& c) {
         c.access_token_file = token_file_;
         c.client_id = "app";
       },
       "--auth_mode"},
      {[](CredentialsConfig& c) { c.auth_mode = "refresh_token"; }, "--client_id"},
      {[](CredentialsConfig& c) {
         c.auth_mode = "refresh_token";
         c.client_id = "app";
       },
       "--refresh_token_file"},
      {[this](CredentialsConfig& c) {
         c.auth_mode = "refresh_token";
         c.client_id = "app";
         c.refresh_token_file = refresh_file_;
       },
       "--tenant_id"},
      {[this](CredentialsConfig& c) {
         c.auth_mode = "refresh_token";
         c.client_id = "app";
         c.refresh_token_file = refresh_file_;
         c.tenant_id = "a/b";
       },
       "--tenant_id"},
      {[this](CredentialsConfig& c) {
         c.auth_mode = "refresh_token";
         c.client_id = "app";
         c.refresh_token_file = refresh_file_;
         c.token_url = "http://login.example/t/oauth2/token";
       },
       "--token_url"},
      {[this](CredentialsConfig& c) {
         c.auth_mode = "refresh_token";
         c.client_id = "app";
         c.refresh_token_file = refresh_file_;
         c.tenant_id = "t";
         c.client_secret_file = "/nonexistent";
       },
       "--client_secret_file"},
  };
  for (const Case& c : cases) {
    CredentialsConfig config = config_;
    c.change(config);
    absl::StatusOr<Credentials> credentials = MakeCredentials(config, transport_);
    EXPECT_EQ(credentials.status().code(), absl::StatusCode::kInvalidArgument) << c.flag;
    EXPECT_THAT(std::string(credentials.status().message()), HasSubstr(c.flag));
  }
}

TEST_F(CredentialsTest, LoopbackTokenEndpointsMayBePlainHttp) {
  config_.auth_mode = "refresh_token";
  config_.client_id = "app";
  config_.refresh_token_file = refresh_file_;
  config_.token_url = "http://127.0.0.1:9999/t/oauth2/token";
  EXPECT_TRUE(Make().ok());
}

TEST(CloudPresetTest, KnowsThreeClouds) {
  EXPECT_EQ(CloudPreset("public")->authority, "https://login.microsoftonline.com");
  EXPECT_EQ(CloudPreset("usgov")->authority, "https://login.microsoftonline.us");
  EXPECT_EQ(CloudPreset("china")->partner_center_url, "https://partner.partnercenterapi.microsoftonline.cn");
  EXPECT_FALSE(CloudPreset("mars").ok());
}

}  // namespace
}  // namespace pcusage::tokens
