#include "server/common/secrets.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "gtest/gtest.h"

namespace pcusage {
namespace {

TEST(SecretHoldTest, AHeldSecretIsRedactedWhereverItAppearsUntilReleased) {
  const std::string secret = "s3cr3t-value-4f1c";
  {
    SecretHold hold = HoldSecret(secret);
    EXPECT_EQ(RedactSecrets("token s3cr3t-value-4f1c is invalid"), "token [redacted] is invalid");
    EXPECT_EQ(RedactSecrets("xxs3cr3t-value-4f1cyy"), "xx[redacted]yy");
  }
  EXPECT_EQ(RedactSecrets("token s3cr3t-value-4f1c is invalid"), "token s3cr3t-value-4f1c is invalid");
}

// Redacting while other threads take and drop holds: the list of held secrets is replaced under the reader, which
// must keep the one it reads alive (a use after free that ASan and TSan report when it is not).
TEST(SecretHoldTest, RedactingWhileHoldsComeAndGoReadsAListThatStaysAlive) {
  const SecretHold held = HoldSecret("steady-secret-7c41");
  std::atomic<bool> stop{false};
  std::thread churn([&stop] {
    for (int i = 0; !stop.load(); ++i) {
      const SecretHold passing = HoldSecret("passing-secret-" + std::to_string(i % 64));
    }
  });
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ(RedactSecrets("a steady-secret-7c41 b"), "a [redacted] b");
  }
  stop = true;
  churn.join();
}

TEST(SecretHoldTest, TheFormEncodedSpellingIsHeldToo) {
  SecretHold hold = HoldSecret("pa ss/w&rd=1");
  EXPECT_EQ(RedactSecrets("got client_id=x&secret_echo=pa%20ss%2Fw%26rd%3D1&x=y"),
            "got client_id=x&secret_echo=[redacted]&x=y");
}

TEST(SecretHoldTest, HoldsAreCountedAndMoveWithTheirOwner) {
  SecretHold first = HoldSecret("shared-secret-77");
  SecretHold moved;
  {
    SecretHold second = HoldSecret("shared-secret-77");
    moved = std::move(second);
  }
  first = SecretHold();
  EXPECT_EQ(RedactSecrets("shared-secret-77"), "[redacted]") << "the moved hold still holds it";
  moved = SecretHold();
  EXPECT_EQ(RedactSecrets("shared-secret-77"), "shared-secret-77");
}

TEST(SecretHoldTest, TheLongestSecretIsTakenOutWhole) {
  SecretHold short_one = HoldSecret("abcdefgh");
  SecretHold long_one = HoldSecret("abcdefgh-ijkl");
  EXPECT_EQ(RedactSecrets("x abcdefgh-ijkl y abcdefgh"), "x [redacted] y [redacted]");
}

TEST(SecretHoldTest, VeryShortSecretsAreNotHeld) {
  SecretHold hold = HoldSecret("abc");
  EXPECT_EQ(RedactSecrets("abc abcabc"), "abc abcabc");
}

TEST(RedactSecretsTest, BearerAndBasicCredentials) {
  EXPECT_EQ(RedactSecrets("Authorization: Bearer AAAAbbbbCCCCdddd1234 rejected"),
            "Authorization: Bearer [redacted] rejected");
  EXPECT_EQ(RedactSecrets("authorization: bearer  AAAAbbbbCCCCdddd1234=="), "authorization: bearer  [redacted]");
  EXPECT_EQ(RedactSecrets("Proxy-Authorization: Basic dXNlcjpwYXNzd29yZDEyMzQ="),
            "Proxy-Authorization: Basic [redacted]");
}

TEST(RedactSecretsTest, JsonWebTokens) {
  EXPECT_EQ(RedactSecrets("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl expired"),
            "token [redacted] expired");
  EXPECT_EQ(RedactSecrets("\"eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.\""), "\"[redacted]\"");
}

TEST(RedactSecretsTest, UrlUserinfo) {
  EXPECT_EQ(RedactSecrets("proxy http://user:p%40ss@proxy.example:8080/ refused"),
            "proxy http://[redacted]@proxy.example:8080/ refused");
  EXPECT_EQ(RedactSecrets("https://user@host/x"), "https://[redacted]@host/x");
  EXPECT_EQ(RedactSecrets("https://host/path@not-userinfo"), "https://host/path@not-userinfo");
}

TEST(RedactSecretsTest, CredentialMembersOfFormsAndJson) {
  EXPECT_EQ(RedactSecrets("invalid request grant_type=refresh_token&client_id=app&refresh_token=0.AAA-x&"
                          "client_secret=abc~def&resource=https%3A%2F%2Fapi"),
            "invalid request grant_type=refresh_token&client_id=app&refresh_token=[redacted]&"
            "client_secret=[redacted]&resource=https%3A%2F%2Fapi");
  EXPECT_EQ(RedactSecrets(R"({"access_token": "abc.def", "expires_in": 3599, "refresh_token":"xyz"})"),
            R"({"access_token": "[redacted]", "expires_in": 3599, "refresh_token":"[redacted]"})");
  EXPECT_EQ(RedactSecrets("proxy password: hunter2, retrying"), "proxy password: [redacted], retrying");
}

TEST(RedactSecretsTest, ShapesAreFoundInAnyCaseWhereverAWordStarts) {
  EXPECT_EQ(RedactSecrets("(BASIC dXNlcjpwYXNzd29yZDEyMzQ=)"), "(BASIC [redacted])");
  EXPECT_EQ(RedactSecrets("CLIENT_SECRET=abc&Password=x&ID_TOKEN=eyJhbGciOiJub25lIn0.e.f&Assertion=q"),
            "CLIENT_SECRET=[redacted]&Password=[redacted]&ID_TOKEN=[redacted]&Assertion=[redacted]");
  EXPECT_EQ(RedactSecrets("uri=ftp://u:p@h/ jwt=eyJa.eyJb.c"), "uri=ftp://[redacted]@h/ jwt=[redacted]");
  // Inside a word, none of them starts.
  EXPECT_EQ(RedactSecrets("xBearer AAAAbbbbCCCCdddd1234 my_password=x neyJa.b"),
            "xBearer AAAAbbbbCCCCdddd1234 my_password=x neyJa.b");
}

TEST(RedactSecretsTest, ARedactorTakesOutWhatWasHeldWhenItWasMade) {
  std::optional<SecretHold> hold = HoldSecret("held-secret-456");
  const Redactor redactor;
  hold.reset();
  EXPECT_EQ(redactor.Redact("a held-secret-456 b"), "a [redacted] b");
  EXPECT_EQ(redactor.Redact("Bearer AAAAbbbbCCCCdddd1234"), "Bearer [redacted]");
  EXPECT_EQ(RedactSecrets("a held-secret-456 b"), "a held-secret-456 b");
}

TEST(RedactSecretsTest, LeavesOrdinaryTextAlone) {
  for (const char* text : {
           "the bearer token in the authorization metadata is empty or malformed",
           "send \"authorization: Bearer <Partner Center token>\" metadata",
           "put the new refresh token in --refresh_token_file",
           "--client_secret_file /etc/pcusage/secret is readable by other users",
           "grant_type=refresh_token&client_id=app",
           "Partner Center answered HTTP 503: Service Unavailable [MS-RequestId 0f8fad5b-d9cb-469f-a165-70867728950e]",
           "GET https://api.partnercenter.microsoft.com/v1/customers/usagerecords?size=1000",
           "basic authentication",
       }) {
    EXPECT_EQ(RedactSecrets(text), text);
  }
}

TEST(RedactSecretsTest, RedactingTwiceChangesNothingMore) {
  SecretHold hold = HoldSecret("held-secret-123");
  const std::string once =
      RedactSecrets("held-secret-123 Bearer AAAAbbbbCCCCdddd1234 refresh_token=x http://u:p@h/ eyJa.eyJb.c");
  EXPECT_EQ(RedactSecrets(once), once);
  EXPECT_EQ(once, "[redacted] Bearer [redacted] refresh_token=[redacted] http://[redacted]@h/ [redacted]");
}

}  // namespace
}  // namespace pcusage
