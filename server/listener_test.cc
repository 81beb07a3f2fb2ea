#include "server/listener.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pcusage {
namespace {

using ::testing::HasSubstr;

TEST(ListenerPolicyTest, ServerHeldCredentialsOffLoopbackNeedTlsAndCallerAuthenticationOrInsecure) {
  struct Row {
    bool loopback, tls, callers_authenticated, server_holds_credentials, insecure;
    bool allowed;
  };
  const Row table[] = {
      // Passthrough holds nothing of its own: allowed anywhere.
      {false, false, false, false, false, true},
      {true, false, false, false, false, true},
      // Server-held credentials: loopback, or TLS with caller authentication, or --insecure.
      {true, false, false, true, false, true},
      {false, false, false, true, false, false},
      {false, false, true, true, false, false},  // API keys in the clear
      {false, true, false, true, false, false},  // TLS, but anyone may call
      {false, true, true, true, false, true},
      {false, false, false, true, true, true},
  };
  for (const Row& row : table) {
    ListenerExposure exposure;
    exposure.loopback = row.loopback;
    exposure.tls = row.tls;
    exposure.callers_authenticated = row.callers_authenticated;
    exposure.server_holds_credentials = row.server_holds_credentials;
    exposure.insecure = row.insecure;
    const absl::Status status = CheckListenerPolicy(exposure, "0.0.0.0:50051");
    EXPECT_EQ(status.ok(), row.allowed) << row.loopback << row.tls << row.callers_authenticated
                                        << row.server_holds_credentials << row.insecure;
    if (!status.ok()) {
      EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_THAT(std::string(status.message()), HasSubstr("refusing to listen on 0.0.0.0:50051"));
    }
  }
}

TEST(ListenerPolicyTest, WarnsAboutEveryExposedListener) {
  ListenerExposure exposure;
  EXPECT_FALSE(ListenerWarning(exposure, "127.0.0.1:1").has_value());
  exposure.loopback = false;
  EXPECT_THAT(ListenerWarning(exposure, "0.0.0.0:1").value(),
              AllOf(HasSubstr("without TLS"), HasSubstr("sees callers' Partner Center tokens in transit")));
  exposure.tls = true;
  EXPECT_THAT(ListenerWarning(exposure, "0.0.0.0:1").value(),
              AllOf(HasSubstr("without caller authentication"), HasSubstr("their own Partner Center tokens")));
  exposure.tls = false;
  exposure.server_holds_credentials = true;
  exposure.insecure = true;
  EXPECT_THAT(ListenerWarning(exposure, "0.0.0.0:1").value(), HasSubstr("reads this partner's billing data"));
  exposure.tls = true;
  exposure.callers_authenticated = true;
  EXPECT_FALSE(ListenerWarning(exposure, "0.0.0.0:1").has_value());
}

TEST(MakeListenerTest, FlagsThatDoNotGoTogetherAreRefused) {
  ListenerFiles files;
  files.tls_cert_file = "/etc/cert.pem";
  EXPECT_THAT(std::string(MakeListener(files).status().message()), HasSubstr("go together"));
  files = ListenerFiles{};
  files.client_allow_list_file = "/etc/allow";
  EXPECT_THAT(std::string(MakeListener(files).status().message()), HasSubstr("needs --tls_client_ca_file"));
  files = ListenerFiles{};
  files.tls_cert_file = "/nonexistent/cert.pem";
  files.tls_key_file = "/nonexistent/key.pem";
  absl::StatusOr<Listener> unreadable = MakeListener(files);
  EXPECT_EQ(unreadable.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unreadable.status().message()), HasSubstr("cannot be read"));
}

TEST(MakeListenerTest, PlaintextWithoutCallerAuthentication) {
  absl::StatusOr<Listener> listener = MakeListener(ListenerFiles{});
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_FALSE(listener->tls);
  EXPECT_FALSE(listener->callers->enabled());
  EXPECT_NE(listener->credentials, nullptr);
}

}  // namespace
}  // namespace pcusage
