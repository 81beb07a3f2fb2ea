#include "server/callers/caller_authenticator.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"

namespace pcusage::callers {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Write(const std::string& name, const std::string& contents) {
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path, std::ios::trunc) << contents;
  return path;
}

TEST(CallerAuthenticatorTest, NothingConfiguredLetsEveryoneIn) {
  auto authenticator = CallerAuthenticator::Create("", "");
  ASSERT_TRUE(authenticator.ok());
  EXPECT_FALSE((*authenticator)->enabled());
  EXPECT_TRUE((*authenticator)->Authenticate({}).ok());
}

TEST(CallerAuthenticatorTest, ApiKeysAreCheckedAgainstSaltedHashes) {
  const std::string billing = CallerAuthenticator::HashLine("billing-sync", "key-one-s3cret").value();
  const std::string reports = CallerAuthenticator::HashLine("reports", "key-two-s3cret").value();
  EXPECT_THAT(billing, Not(HasSubstr("key-one")));
  auto authenticator =
      CallerAuthenticator::Create(Write("keys", "# name salt hash\n" + billing + "\n\n" + reports + "  # note\n"), "");
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  EXPECT_EQ((*authenticator)->Authenticate({std::string("key-two-s3cret"), {}}).value(), "key:reports");
  EXPECT_EQ((*authenticator)->Authenticate({std::string("key-one-s3cret"), {}}).value(), "key:billing-sync");

  absl::Status wrong = (*authenticator)->Authenticate({std::string("key-one-s3creT"), {}}).status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(GetErrorInfo(wrong)->reason(), "CALLER_UNAUTHENTICATED");
  EXPECT_THAT(std::string(wrong.message()), Not(HasSubstr("s3cre")));
  absl::Status missing = (*authenticator)->Authenticate({}).status();
  EXPECT_THAT(std::string(missing.message()), HasSubstr("x-api-key"));
}

TEST(CallerAuthenticatorTest, CertificateIdentitiesOnTheAllowListGetIn) {
  auto authenticator = CallerAuthenticator::Create("", Write("allow", "billing.client.example\n# other\n"));
  ASSERT_TRUE(authenticator.ok());
  EXPECT_EQ((*authenticator)->Authenticate({std::nullopt, {"x", "billing.client.example"}}).value(),
            "cert:billing.client.example");
  EXPECT_FALSE((*authenticator)->Authenticate({std::nullopt, {"intruder.example"}}).ok());
}

TEST(CallerAuthenticatorTest, AKeyAndACertificateOfTheSameNameAreTwoCallers) {
  auto authenticator = CallerAuthenticator::Create(
      Write("keys_alice", CallerAuthenticator::HashLine("alice", "alice-key-0001").value() + "\n"),
      Write("allow_alice", "alice\n"));
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  const absl::StatusOr<std::string> by_key = (*authenticator)->Authenticate({std::string("alice-key-0001"), {}});
  const absl::StatusOr<std::string> by_certificate = (*authenticator)->Authenticate({std::nullopt, {"alice"}});
  ASSERT_TRUE(by_key.ok()) << by_key.status();
  ASSERT_TRUE(by_certificate.ok()) << by_certificate.status();
  EXPECT_EQ(*by_key, "key:alice");
  EXPECT_EQ(*by_certificate, "cert:alice");
  EXPECT_NE(*by_key, *by_certificate);
  // A key whose name looks typed is still a key.
  auto tricky =
      CallerAuthenticator::Create(Write("keys_tricky", CallerAuthenticator::HashLine("cert:alice", "k-3").value()), "");
  ASSERT_TRUE(tricky.ok()) << tricky.status();
  EXPECT_EQ((*tricky)->Authenticate({std::string("k-3"), {}}).value(), "key:cert:alice");
}

TEST(CallerAuthenticatorTest, MalformedFilesAreRejected) {
  EXPECT_FALSE(CallerAuthenticator::Create("/nonexistent", "").ok());
  EXPECT_FALSE(CallerAuthenticator::Create(Write("bad1", "name only\n"), "").ok());
  EXPECT_FALSE(CallerAuthenticator::Create(Write("bad2", "n zz 00\n"), "").ok());
  EXPECT_FALSE(CallerAuthenticator::Create(Write("bad3", "# nothing\n"), "").ok());
  EXPECT_FALSE(CallerAuthenticator::Create("", Write("empty", "\n")).ok());
}

}  // namespace
}  // namespace pcusage::callers
