#include "server/callers/caller_authenticator.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

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

// Replaces `path` the way an operator's job should: a new file renamed over the old one.
void Replace(const std::string& path, const std::string& contents) {
  std::ofstream(path + ".new", std::ios::trunc) << contents;
  ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
}

std::string Line(const std::string& name, const std::string& key) {
  return CallerAuthenticator::HashLine(name, key).value() + "\n";
}

// The caller's identity, or the status's message.
std::string Who(const CallerAuthenticator& authenticator, const CallerCredentials& caller) {
  absl::StatusOr<std::string> identity = authenticator.Authenticate(caller);
  return identity.ok() ? *identity : std::string(identity.status().message());
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

TEST(CallerAuthenticatorReloadTest, AChangedKeysFileIsReadAgainWithoutARestart) {
  const std::string keys_file = Write("reload_keys", Line("alice", "alice-key-0001"));
  auto authenticator = CallerAuthenticator::Create(keys_file, "", absl::ZeroDuration());
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  const CallerCredentials alice{std::string("alice-key-0001"), {}};
  const CallerCredentials bob{std::string("bob-key-0002"), {}};
  EXPECT_EQ(Who(**authenticator, alice), "key:alice");
  EXPECT_THAT(Who(**authenticator, bob), HasSubstr("not valid"));

  ::testing::internal::CaptureStderr();
  Replace(keys_file, Line("alice", "alice-key-0001") + Line("bob", "bob-key-0002"));
  EXPECT_EQ(Who(**authenticator, bob), "key:bob");
  EXPECT_EQ(Who(**authenticator, alice), "key:alice");
  // Written in place this time (same inode, another size): noticed too.
  Write("reload_keys", Line("bob", "bob-key-0002"));
  EXPECT_THAT(Who(**authenticator, alice), HasSubstr("not valid"));
  EXPECT_EQ(Who(**authenticator, bob), "key:bob");
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("API keys file " + keys_file + " changed: 2 API keys now in force"));
  EXPECT_THAT(log, HasSubstr("changed: 1 API keys now in force"));
  EXPECT_THAT(log, Not(HasSubstr("-key-000")));
}

TEST(CallerAuthenticatorReloadTest, ABadNewKeysFileKeepsTheKeysInForceAndSaysWhyOnce) {
  const std::string alice_line = Line("alice", "alice-key-0001");
  const std::string keys_file = Write("bad_reload_keys", alice_line);
  auto authenticator = CallerAuthenticator::Create(keys_file, "", absl::ZeroDuration());
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  const CallerCredentials alice{std::string("alice-key-0001"), {}};

  ::testing::internal::CaptureStderr();
  Replace(keys_file, alice_line + "bob 00zz 1234\n");
  EXPECT_EQ(Who(**authenticator, alice), "key:alice");
  EXPECT_EQ(Who(**authenticator, alice), "key:alice");
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(
      log, HasSubstr("API keys file " + keys_file + " changed but cannot be used (" + keys_file + ": entry 2 is not"));
  EXPECT_THAT(log, HasSubstr("keeping the one read earlier"));
  EXPECT_EQ(log.find("cannot be used"), log.rfind("cannot be used")) << "logged once per version: " << log;
  EXPECT_THAT(log, Not(HasSubstr(alice_line.substr(6, 32)))) << "no file contents in the log";

  ::testing::internal::CaptureStderr();
  ASSERT_EQ(std::remove(keys_file.c_str()), 0);
  EXPECT_EQ(Who(**authenticator, alice), "key:alice");
  Replace(keys_file, "# no keys\n");
  EXPECT_EQ(Who(**authenticator, alice), "key:alice");
  log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("No such file or directory"));
  EXPECT_THAT(log, HasSubstr(keys_file + " holds no key"));

  Replace(keys_file, Line("carol", "carol-key-0003"));
  EXPECT_THAT(Who(**authenticator, alice), HasSubstr("not valid"));
  EXPECT_EQ(Who(**authenticator, {std::string("carol-key-0003"), {}}), "key:carol");
}

TEST(CallerAuthenticatorReloadTest, AChangedAllowListIsReadAgainAndABadOneIsNotUsed) {
  const std::string allow_file = Write("reload_allow", "billing.client.example\n");
  auto authenticator = CallerAuthenticator::Create("", allow_file, absl::ZeroDuration());
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  const CallerCredentials billing{std::nullopt, {"billing.client.example"}};
  const CallerCredentials reports{std::nullopt, {"reports.client.example"}};
  EXPECT_FALSE((*authenticator)->Authenticate(reports).ok());

  ::testing::internal::CaptureStderr();
  Replace(allow_file, "reports.client.example\n");
  EXPECT_EQ(Who(**authenticator, reports), "cert:reports.client.example");
  EXPECT_THAT(Who(**authenticator, billing), HasSubstr("no allowed TLS client certificate"));
  Replace(allow_file, "# emptied by mistake\n");
  EXPECT_EQ(Who(**authenticator, reports), "cert:reports.client.example");
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("client allow list " + allow_file + " changed: 1 allowed client identities now in force"));
  EXPECT_THAT(log, HasSubstr(allow_file + " is empty); keeping the one read earlier"));
}

TEST(CallerAuthenticatorReloadTest, FilesAreLookedAtOncePerIntervalAtMost) {
  const std::string keys_file = Write("slow_reload_keys", Line("alice", "alice-key-0001"));
  auto authenticator = CallerAuthenticator::Create(keys_file, "", absl::Hours(1));
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  Replace(keys_file, Line("bob", "bob-key-0002"));
  EXPECT_EQ(Who(**authenticator, {std::string("alice-key-0001"), {}}), "key:alice");
  EXPECT_THAT(Who(**authenticator, {std::string("bob-key-0002"), {}}), HasSubstr("not valid"));
}

TEST(CallerAuthenticatorReloadTest, CallersAuthenticateWhileTheFileIsReplaced) {
  // alice is in every version; bob comes and goes. Run under ASan in tools/test.
  const std::string keys_file = Write("busy_keys", Line("alice", "alice-key-0001"));
  auto authenticator = CallerAuthenticator::Create(keys_file, "", absl::ZeroDuration());
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  std::vector<std::thread> callers;
  std::vector<int> failures(4, 0);
  callers.reserve(failures.size());
  for (int& failed : failures) {
    callers.emplace_back([&authenticator, &failed] {
      for (int i = 0; i < 300; ++i) failed += !(*authenticator)->Authenticate({std::string("alice-key-0001"), {}}).ok();
    });
  }
  for (int i = 0; i < 50; ++i) {
    Replace(keys_file, Line("alice", "alice-key-0001") + (i % 2 == 0 ? Line("bob", "bob-key-0002") : ""));
  }
  for (std::thread& caller : callers) caller.join();
  for (int failed : failures) EXPECT_EQ(failed, 0);
}

}  // namespace
}  // namespace pcusage::callers
