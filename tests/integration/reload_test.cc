// Reload without restart, over a real pcusage_server on loopback: the listener's certificate and key, its client CA,
// the API keys file and the mTLS allow list are replaced while it runs. New connections get the new certificate and
// CA, calls see the new keys and identities, and a bad new file (a key that is not the certificate's, a file that is
// not PEM, a malformed or empty list) keeps the one in force and is logged. The server's own rate of looking at the
// files is set to 100 ms; the test polls, bounded, for the state it expects.
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/callers/caller_authenticator.h"
#include "tests/testing/child_process.h"
#include "tests/testing/emulator_and_server.h"
#include "tests/testing/testing_tls.h"

namespace pcusage {
namespace {

using ::pcusage::emulator::CertificateFiles;
using ::pcusage::testing::EmulatorAndServer;
using ::pcusage::testing::TempPath;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kReloadEvery[] = "--listener_reload_interval=100ms";
constexpr char kAliceKey[] = "alice-key-SECRET-51b2-0123456789";
constexpr char kBobKey[] = "bob-key-SECRET-93d7-0123456789";

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// Replaces `path` as an operator's job should: a new file renamed over the old one.
void Replace(const std::string& path, const std::string& contents) {
  std::ofstream(path + ".new", std::ios::trunc) << contents;
  ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0) << path;
}

std::string Copy(const std::string& from, const std::string& name) {
  const std::string path = TempPath(name);
  Replace(path, ReadFile(from));
  return path;
}

// Polls `condition` until it holds, for at most 30 s.
bool Eventually(const std::function<bool()>& condition) {
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (!condition()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

// A channel of its own (its own connection: no subchannel shared with other channels), so each call here makes a
// new TLS handshake; trusting `ca_file`, presenting `client_certificate` when given.
std::shared_ptr<grpc::Channel> Tls(int port, const std::string& ca_file,
                                   const CertificateFiles* client_certificate = nullptr) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(ca_file);
  if (client_certificate != nullptr) {
    options.pem_cert_chain = ReadFile(client_certificate->cert_file);
    options.pem_private_key = ReadFile(client_certificate->key_file);
  }
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("localhost");
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(options), arguments);
}

std::shared_ptr<grpc::Channel> Plaintext(int port) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), arguments);
}

// The status of a listing through `channel`, and how many records it got.
struct Listing {
  grpc::Status status;
  std::string reason;  // the ErrorInfo reason, if any
  int records = 0;
};

Listing List(const std::shared_ptr<grpc::Channel>& channel, const std::string& api_key = "") {
  client::ListOptions options;
  options.timeout = absl::Seconds(30);
  options.api_key = api_key;
  client::UsageRecordsClient client(channel);
  Listing listing;
  client::ListSummary summary = client.ListUsageRecords(options, [&listing](const auto&) {
    ++listing.records;
    return true;
  });
  listing.status = summary.status;
  if (summary.error_info.has_value()) listing.reason = summary.error_info->reason();
  return listing;
}

bool Succeeds(const Listing& listing) { return listing.status.ok() && listing.records == 4; }

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<emulator::TestPki> pki = emulator::MakeTestPki(a_directory_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    a_ = *std::move(pki);
    pki = emulator::MakeTestPki(TempPath("pki_b"));
    ASSERT_TRUE(pki.ok()) << pki.status();
    b_ = *std::move(pki);
  }

  void Start(std::vector<std::string> flags) {
    flags.push_back(kReloadEvery);
    for (const std::string& flag : EmulatorAndServer::WithTokenFile()) flags.push_back(flag);
    absl::StatusOr<std::unique_ptr<EmulatorAndServer>> stack = EmulatorAndServer::Start({"--dataset=seed"}, flags);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // Waits for `text` in the server's log, calling `poke` meanwhile: the server looks at its files when a connection
  // or a call comes.
  bool Logged(const std::string& text, const std::function<void()>& poke) {
    return Eventually([&] {
      poke();
      return stack_->ServerLog().find(text) != std::string::npos;
    });
  }

  void TearDown() override {
    if (stack_ == nullptr) return;
    const std::string log = stack_->ServerLog();
    EXPECT_EQ(stack_->StopServer(), 0) << log;
    for (const std::string& secret : {std::string(kAliceKey), std::string(kBobKey), std::string("PRIVATE KEY")}) {
      EXPECT_THAT(log, Not(HasSubstr(secret))) << "the server's log holds a secret";
    }
  }

  const std::string a_directory_ = TempPath("pki_a");
  emulator::TestPki a_;
  emulator::TestPki b_;
  std::unique_ptr<EmulatorAndServer> stack_;
};

TEST_F(ReloadTest, NewConnectionsGetARotatedCertificateAndABadOneIsNeverServed) {
  const std::string cert_file = Copy(a_.server.cert_file, "serving.pem");
  const std::string key_file = Copy(a_.server.key_file, "serving.key");
  Start({"--tls_cert_file=" + cert_file, "--tls_key_file=" + key_file});
  const int port = stack_->server_port();
  const std::shared_ptr<grpc::Channel> kept = Tls(port, a_.ca.cert_file);
  ASSERT_TRUE(Succeeds(List(kept)));
  EXPECT_EQ(List(Tls(port, b_.ca.cert_file)).status.error_code(), grpc::StatusCode::UNAVAILABLE);

  // Half a rotation: B's key beside A's certificate. Refused, logged, and A's pair goes on serving.
  Replace(key_file, ReadFile(b_.server.key_file));
  const auto connect_trusting_a = [&] { List(Tls(port, a_.ca.cert_file)); };
  ASSERT_TRUE(Logged("--tls_key_file " + key_file + " is not the key of the certificate in --tls_cert_file " +
                         cert_file + "); keeping the one read earlier",
                     connect_trusting_a))
      << stack_->ServerLog();
  EXPECT_TRUE(Succeeds(List(Tls(port, a_.ca.cert_file))));

  // The rotation completed: new connections get B's certificate, so only clients trusting B's CA connect.
  Replace(cert_file, ReadFile(b_.server.cert_file));
  ASSERT_TRUE(Eventually([&] { return Succeeds(List(Tls(port, b_.ca.cert_file))); })) << stack_->ServerLog();
  EXPECT_EQ(List(Tls(port, a_.ca.cert_file)).status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(stack_->ServerLog(), HasSubstr("changed: certificate CN=localhost valid until"));
  EXPECT_TRUE(Succeeds(List(kept))) << "a connection made before the rotation keeps its TLS session";

  // A certificate file that is not PEM: B's pair stays in force.
  Replace(cert_file, "-----BEGIN CERTIFICATE-----\ntruncated\n");
  ASSERT_TRUE(Logged("--tls_cert_file " + cert_file + " holds no PEM certificate)", [&] {
    List(Tls(port, b_.ca.cert_file));
  })) << stack_->ServerLog();
  EXPECT_TRUE(Succeeds(List(Tls(port, b_.ca.cert_file))));
}

TEST_F(ReloadTest, ClientCaAndAllowListAreReadAgainAndABadListKeepsTheOldOne) {
  const std::string client_ca_file = Copy(a_.ca.cert_file, "client_ca.pem");
  const std::string allow_file = TempPath("allow_list");
  Replace(allow_file, "pcusage-test-client\n");
  Start({"--tls_cert_file=" + a_.server.cert_file, "--tls_key_file=" + a_.server.key_file,
         "--tls_client_ca_file=" + client_ca_file, "--client_allow_list_file=" + allow_file});
  const int port = stack_->server_port();
  absl::StatusOr<CertificateFiles> other =
      emulator::MakeClientCertificate(a_directory_, "other", "other-client", a_.ca);
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(Succeeds(List(Tls(port, a_.ca.cert_file, &a_.client))));
  EXPECT_EQ(List(Tls(port, a_.ca.cert_file, &*other)).reason, "CALLER_UNAUTHENTICATED");

  // The allow list changes hands.
  Replace(allow_file, "other-client\n");
  ASSERT_TRUE(Eventually([&] { return Succeeds(List(Tls(port, a_.ca.cert_file, &*other))); })) << stack_->ServerLog();
  EXPECT_EQ(List(Tls(port, a_.ca.cert_file, &a_.client)).reason, "CALLER_UNAUTHENTICATED");
  EXPECT_THAT(stack_->ServerLog(), HasSubstr("client allow list " + allow_file +
                                             " changed: 1 allowed client "
                                             "identities now in force"));

  // Emptied by mistake: the list in force stays.
  Replace(allow_file, "# nobody\n");
  ASSERT_TRUE(Logged(allow_file + " is empty); keeping the one read earlier", [&] {
    List(Tls(port, a_.ca.cert_file, &*other));
  })) << stack_->ServerLog();
  EXPECT_TRUE(Succeeds(List(Tls(port, a_.ca.cert_file, &*other))));

  // A new client CA: B's client certificate (CN=pcusage-test-client) is verified, A's no longer.
  Replace(allow_file, "pcusage-test-client\n");
  Replace(client_ca_file, ReadFile(b_.ca.cert_file));
  ASSERT_TRUE(Eventually([&] { return Succeeds(List(Tls(port, a_.ca.cert_file, &b_.client))); }))
      << stack_->ServerLog();
  EXPECT_EQ(List(Tls(port, a_.ca.cert_file, &a_.client)).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ReloadTest, ApiKeysAddedAndRemovedWithoutARestartAndABrokenFileKeepsTheKeysInForce) {
  const std::string keys_file = TempPath("api_keys");
  Replace(keys_file, callers::CallerAuthenticator::HashLine("alice", kAliceKey).value() + "\n");
  Start({"--api_keys_file=" + keys_file});
  const int port = stack_->server_port();
  ASSERT_TRUE(Succeeds(List(Plaintext(port), kAliceKey)));
  EXPECT_EQ(List(Plaintext(port), kBobKey).reason, "CALLER_UNAUTHENTICATED");

  const std::string bob_line = callers::CallerAuthenticator::HashLine("bob", kBobKey).value() + "\n";
  Replace(keys_file, ReadFile(keys_file) + bob_line);
  ASSERT_TRUE(Eventually([&] { return Succeeds(List(Plaintext(port), kBobKey)); })) << stack_->ServerLog();
  EXPECT_TRUE(Succeeds(List(Plaintext(port), kAliceKey)));

  Replace(keys_file, bob_line);
  ASSERT_TRUE(Eventually([&] { return List(Plaintext(port), kAliceKey).reason == "CALLER_UNAUTHENTICATED"; }))
      << stack_->ServerLog();
  EXPECT_TRUE(Succeeds(List(Plaintext(port), kBobKey)));

  Replace(keys_file, bob_line + "carol not-hex\n");
  ASSERT_TRUE(Logged("API keys file " + keys_file + " changed but cannot be used (" + keys_file + ": entry 2 is not",
                     [&] { List(Plaintext(port), kBobKey); }))
      << stack_->ServerLog();
  EXPECT_TRUE(Succeeds(List(Plaintext(port), kBobKey)));
  EXPECT_EQ(List(Plaintext(port), kAliceKey).reason, "CALLER_UNAUTHENTICATED");
}

}  // namespace
}  // namespace pcusage
