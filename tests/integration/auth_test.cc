// Partner Center credentials and caller authentication end to end, with real processes on loopback: the
// refresh-token grant against the emulator's token endpoint (caching, rotation written back, renewal when a token
// expires mid-call, a refused refresh token), upstream TLS verified with a CA made at test time, a TLS listener
// with API keys or an mTLS allow list, and a check that no secret ever appears in what the server wrote.
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client_stubs/cpp/usage_records_client.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/callers/caller_authenticator.h"
#include "tests/testing/child_process.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/testing_tls.h"

namespace pcusage {
namespace {

using ::pcusage::testing::ChildProcess;
using ::pcusage::testing::RunfilePath;
using ::pcusage::testing::TempPath;
using ::testing::HasSubstr;

// Secrets with recognisable text, so a leak anywhere is found by a substring search.
constexpr char kInitialRefreshToken[] = "rt-initial-SECRET-4f1c";
constexpr char kClientSecret[] = "client-secret-SECRET-9a7e";
constexpr char kStaticToken[] = "static-token-SECRET-2b6d";
constexpr char kApiKey[] = "api-key-SECRET-7c3e-0123456789";
constexpr char kClientId[] = "pcusage-test-client";

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::trunc) << contents;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

struct Running {
  std::unique_ptr<ChildProcess> process;
  int port = 0;
};

// Starts `binary` with `flags` plus a port file and waits for its port.
Running Start(const std::string& binary, std::vector<std::string> flags) {
  const std::string port_file = TempPath("port");
  flags.push_back("--port_file=" + port_file);
  auto process = ChildProcess::Start(RunfilePath(binary), flags, TempPath("log"));
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return {};
  absl::StatusOr<int> port = (*process)->WaitForPortFile(port_file, absl::Seconds(30));
  EXPECT_TRUE(port.ok()) << port.status();
  return {*std::move(process), port.value_or(0)};
}

Running StartEmulator(std::vector<std::string> flags) {
  flags.insert(flags.begin(), {"--port=0", absl::StrCat("--access_token=", kStaticToken)});
  return Start("tests/emulator/pc_emulator", flags);
}

Running StartServer(std::vector<std::string> flags) {
  flags.insert(flags.begin(), "--listen=127.0.0.1:0");
  return Start("server/pcusage_server", flags);
}

nlohmann::json EmulatorGet(int port, const std::string& path) {
  httplib::Client http("127.0.0.1", port);
  httplib::Result response = http.Get(path);
  EXPECT_TRUE(response && response->status == 200) << path;
  return response ? nlohmann::json::parse(response->body, nullptr, false) : nlohmann::json();
}

struct Listing {
  client::ListSummary summary;
  int records = 0;
};

Listing List(const std::shared_ptr<grpc::Channel>& channel, client::ListOptions options = {}) {
  options.timeout = absl::Seconds(60);
  client::UsageRecordsClient client(channel);
  Listing listing;
  listing.summary = client.ListUsageRecords(options, [&listing](const auto&) {
    ++listing.records;
    return true;
  });
  return listing;
}

std::shared_ptr<grpc::Channel> Plaintext(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

// A TLS channel trusting `ca_file`, optionally presenting a client certificate.
std::shared_ptr<grpc::Channel> Tls(int port, const std::string& ca_file,
                                   const emulator::CertificateFiles* client_certificate = nullptr) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(ca_file);
  if (client_certificate != nullptr) {
    options.pem_cert_chain = ReadFile(client_certificate->cert_file);
    options.pem_private_key = ReadFile(client_certificate->key_file);
  }
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(options), arguments);
}

// Every secret of a test, checked against everything the server wrote and every status it returned.
class SecretWatch {
 public:
  void Add(const std::string& secret) {
    if (!secret.empty()) secrets_.push_back(secret);
  }
  // The tokens the emulator issued and saw, and its current refresh token.
  void AddEmulatorTokens(int emulator_port) {
    Add(EmulatorGet(emulator_port, "/emulator/tokens").value("current_refresh_token", ""));
    for (const nlohmann::json& request : EmulatorGet(emulator_port, "/emulator/requests")) {
      const std::string authorization = request["headers"].value("authorization", "");
      if (authorization.rfind("Bearer ", 0) == 0) Add(authorization.substr(7));
    }
  }
  void ExpectAbsentFrom(const std::string& what, const std::string& text) const {
    for (const std::string& secret : secrets_) {
      EXPECT_THAT(text, ::testing::Not(HasSubstr(secret))) << what << " leaks a secret";
    }
  }
  void ExpectAbsentFrom(const client::ListSummary& summary) const {
    ExpectAbsentFrom("a status message", summary.status.error_message());
    ExpectAbsentFrom("status details", summary.status.error_details());
  }

 private:
  std::vector<std::string> secrets_;
};

class RefreshTokenModeTest : public ::testing::Test {
 protected:
  void StartStack(const std::vector<std::string>& extra_emulator_flags, const std::string& refresh_token) {
    std::vector<std::string> emulator_flags = {"--dataset=generated", "--customers=30", "--page_size=10",
                                               absl::StrCat("--refresh_token=", kInitialRefreshToken),
                                               absl::StrCat("--client_secret=", kClientSecret)};
    emulator_flags.insert(emulator_flags.end(), extra_emulator_flags.begin(), extra_emulator_flags.end());
    emulator_ = StartEmulator(emulator_flags);
    ASSERT_NE(emulator_.port, 0);
    refresh_file_ = WriteFile("refresh_token", refresh_token + "\n");
    server_ = StartServer({"--auth_mode=refresh_token", absl::StrCat("--client_id=", kClientId),
                           "--client_secret_file=" + WriteFile("client_secret", kClientSecret),
                           "--refresh_token_file=" + refresh_file_,
                           absl::StrCat("--token_url=http://127.0.0.1:", emulator_.port, "/contoso/oauth2/token"),
                           absl::StrCat("--partner_center_url=http://127.0.0.1:", emulator_.port)});
    ASSERT_NE(server_.port, 0);
    secrets_.Add(kInitialRefreshToken);
    secrets_.Add(kClientSecret);
    secrets_.Add(kStaticToken);
  }

  void TearDown() override {
    if (emulator_.port != 0) secrets_.AddEmulatorTokens(emulator_.port);
    if (server_.process != nullptr) {
      EXPECT_EQ(server_.process->Stop(absl::Seconds(15)), 0);
      secrets_.ExpectAbsentFrom("the server's log", server_.process->Log());
    }
  }

  int TokenRequests() { return EmulatorGet(emulator_.port, "/emulator/tokens").value("token_requests", -1); }

  Running emulator_;
  Running server_;
  std::string refresh_file_;
  SecretWatch secrets_;
};

TEST_F(RefreshTokenModeTest, StreamsWithoutACallerTokenAndWritesTheRotatedRefreshTokenBack) {
  StartStack({}, kInitialRefreshToken);
  Listing first = List(Plaintext(server_.port));
  ASSERT_TRUE(first.summary.status.ok()) << first.summary.status.error_message();
  EXPECT_EQ(first.records, 30);
  Listing second = List(Plaintext(server_.port));
  ASSERT_TRUE(second.summary.status.ok());
  EXPECT_EQ(TokenRequests(), 1) << "the access token is cached";

  const std::string rotated = EmulatorGet(emulator_.port, "/emulator/tokens").value("current_refresh_token", "");
  EXPECT_NE(rotated, kInitialRefreshToken);
  EXPECT_EQ(ReadFile(refresh_file_), rotated + "\n");
  struct stat info;
  ASSERT_EQ(stat(refresh_file_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  secrets_.ExpectAbsentFrom(first.summary);
}

TEST_F(RefreshTokenModeTest, ATokenExpiringMidCallIsRenewedOnceAndTheCallGoesOn) {
  // Page 1 is slow enough that the 1 s token has expired when page 2 is asked for.
  StartStack({"--token_lifetime=1s", R"(--faults=[{"page": 1, "fault": "slow_first_byte", "delay_ms": 1500}])"},
             kInitialRefreshToken);
  Listing listing = List(Plaintext(server_.port));
  ASSERT_TRUE(listing.summary.status.ok()) << listing.summary.status.error_message();
  EXPECT_EQ(listing.records, 30);
  EXPECT_EQ(TokenRequests(), 2);
  nlohmann::json requests = EmulatorGet(emulator_.port, "/emulator/requests");
  int unauthorized = 0;
  for (const nlohmann::json& request : requests) unauthorized += request.value("status", 0) == 401;
  EXPECT_EQ(unauthorized, 1) << requests.dump(1);
  // Both rotations reached the file.
  EXPECT_EQ(ReadFile(refresh_file_),
            EmulatorGet(emulator_.port, "/emulator/tokens").value("current_refresh_token", "") + "\n");
}

TEST_F(RefreshTokenModeTest, ARefusedRefreshTokenSaysItMustBeRenewed) {
  StartStack({}, "rt-revoked-SECRET-55aa");
  secrets_.Add("rt-revoked-SECRET-55aa");
  Listing listing = List(Plaintext(server_.port));
  EXPECT_EQ(listing.summary.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(listing.summary.status.error_message(), HasSubstr("must be renewed"));
  ASSERT_TRUE(listing.summary.error_info.has_value());
  EXPECT_EQ(listing.summary.error_info->reason(), "REFRESH_TOKEN_INVALID");
  secrets_.ExpectAbsentFrom(listing.summary);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<emulator::TestPki> pki = emulator::MakeTestPki(pki_dir_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    token_file_ = WriteFile("token", kStaticToken);
    secrets_.Add(kStaticToken);
    secrets_.Add(kApiKey);
  }

  void ExpectCleanStop(Running& server) {
    ASSERT_NE(server.process, nullptr);
    EXPECT_EQ(server.process->Stop(absl::Seconds(15)), 0);
    secrets_.ExpectAbsentFrom("the server's log", server.process->Log());
  }

  std::string pki_dir_ = TempPath("pki");
  emulator::TestPki pki_;
  std::string token_file_;
  SecretWatch secrets_;
};

TEST_F(TlsTest, UpstreamTlsIsVerifiedAgainstTheGivenCa) {
  Running emulator = StartEmulator(
      {"--dataset=seed", "--tls_cert_file=" + pki_.server.cert_file, "--tls_key_file=" + pki_.server.key_file});
  ASSERT_NE(emulator.port, 0);
  const std::string url = absl::StrCat("--partner_center_url=https://127.0.0.1:", emulator.port);

  Running trusting = StartServer({url, "--ca_bundle_file=" + pki_.ca.cert_file, "--access_token_file=" + token_file_});
  Listing ok = List(Plaintext(trusting.port));
  ASSERT_TRUE(ok.summary.status.ok()) << ok.summary.status.error_message();
  EXPECT_EQ(ok.records, 4);
  ExpectCleanStop(trusting);

  Running wrong_ca =
      StartServer({url, "--ca_bundle_file=" + pki_.other_ca.cert_file, "--access_token_file=" + token_file_});
  Listing refused = List(Plaintext(wrong_ca.port));
  EXPECT_EQ(refused.summary.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.summary.status.error_message(), HasSubstr("TLS verification failed"));
  ASSERT_TRUE(refused.summary.error_info.has_value());
  EXPECT_EQ(refused.summary.error_info->reason(), "PARTNER_CENTER_TLS_FAILED");
  EXPECT_EQ(refused.summary.error_info->metadata().at("attempts"), "1");  // not retried
  secrets_.ExpectAbsentFrom(refused.summary);
  ExpectCleanStop(wrong_ca);
}

TEST_F(TlsTest, ATlsListenerWithApiKeysLetsInOnlyCallersWithAKey) {
  Running emulator = StartEmulator({"--dataset=seed"});
  const std::string keys_file =
      WriteFile("api_keys", callers::CallerAuthenticator::HashLine("billing", kApiKey).value() + "\n");
  // Not loopback, and allowed: TLS and API keys protect the server's own credentials.
  Running server = StartServer({"--listen=0.0.0.0:0", "--tls_cert_file=" + pki_.server.cert_file,
                                "--tls_key_file=" + pki_.server.key_file, "--api_keys_file=" + keys_file,
                                "--access_token_file=" + token_file_,
                                absl::StrCat("--partner_center_url=http://127.0.0.1:", emulator.port)});
  ASSERT_NE(server.port, 0);

  client::ListOptions with_key;
  with_key.api_key = kApiKey;
  Listing ok = List(Tls(server.port, pki_.ca.cert_file), with_key);
  ASSERT_TRUE(ok.summary.status.ok()) << ok.summary.status.error_message();
  EXPECT_EQ(ok.records, 4);

  Listing no_key = List(Tls(server.port, pki_.ca.cert_file));
  EXPECT_EQ(no_key.summary.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(no_key.summary.error_info.has_value());
  EXPECT_EQ(no_key.summary.error_info->reason(), "CALLER_UNAUTHENTICATED");

  client::ListOptions wrong_key;
  wrong_key.api_key = "api-key-guess-0000000000";
  EXPECT_EQ(List(Tls(server.port, pki_.ca.cert_file), wrong_key).summary.status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(List(Plaintext(server.port), with_key).summary.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  secrets_.ExpectAbsentFrom(no_key.summary);
  ExpectCleanStop(server);
}

TEST_F(TlsTest, MutualTlsLetsInOnlyAllowedClientIdentities) {
  Running emulator = StartEmulator({"--dataset=seed"});
  Running server = StartServer({"--listen=0.0.0.0:0", "--tls_cert_file=" + pki_.server.cert_file,
                                "--tls_key_file=" + pki_.server.key_file, "--tls_client_ca_file=" + pki_.ca.cert_file,
                                "--client_allow_list_file=" + WriteFile("allow", absl::StrCat(kClientId, "\n")),
                                "--access_token_file=" + token_file_,
                                absl::StrCat("--partner_center_url=http://127.0.0.1:", emulator.port)});
  ASSERT_NE(server.port, 0);

  Listing allowed = List(Tls(server.port, pki_.ca.cert_file, &pki_.client));
  ASSERT_TRUE(allowed.summary.status.ok()) << allowed.summary.status.error_message();
  EXPECT_EQ(allowed.records, 4);

  absl::StatusOr<emulator::CertificateFiles> intruder =
      emulator::MakeClientCertificate(pki_dir_, "intruder", "intruder.example", pki_.ca);
  ASSERT_TRUE(intruder.ok()) << intruder.status();
  Listing not_listed = List(Tls(server.port, pki_.ca.cert_file, &*intruder));
  EXPECT_EQ(not_listed.summary.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  Listing no_certificate = List(Tls(server.port, pki_.ca.cert_file));
  EXPECT_EQ(no_certificate.summary.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  ExpectCleanStop(server);
}

TEST_F(TlsTest, OffLoopbackServerHeldCredentialsNeedTlsAndCallerAuthentication) {
  const std::string keys_file =
      WriteFile("api_keys", callers::CallerAuthenticator::HashLine("billing", kApiKey).value() + "\n");
  const std::string tls_cert = "--tls_cert_file=" + pki_.server.cert_file;
  const std::string tls_key = "--tls_key_file=" + pki_.server.key_file;
  const std::string token = "--access_token_file=" + token_file_;
  struct Case {
    std::vector<std::string> flags;
    bool starts;
    std::string log_part;
  };
  const std::vector<Case> cases = {
      {{token}, false, "refusing to listen on 0.0.0.0:0"},
      {{token, "--api_keys_file=" + keys_file}, false, "refusing to listen"},  // keys travel in the clear
      {{token, tls_cert, tls_key}, false, "refusing to listen"},               // TLS, but anyone may call
      {{token, tls_cert, tls_key, "--api_keys_file=" + keys_file}, true, "callers authenticated"},
      {{token, "--insecure"}, true, "without TLS"},  // explicitly accepted
      {{}, true, "without TLS"},                     // passthrough holds nothing
      {{token, tls_cert, tls_key, "--client_allow_list_file=" + keys_file}, false, "needs --tls_client_ca_file"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> flags = {"--listen=0.0.0.0:0"};
    flags.insert(flags.end(), c.flags.begin(), c.flags.end());
    const std::string port_file = TempPath("port");
    flags.push_back("--port_file=" + port_file);
    auto server = ChildProcess::Start(RunfilePath("server/pcusage_server"), flags, TempPath("log"));
    ASSERT_TRUE(server.ok());
    const bool started = (*server)->WaitForPortFile(port_file, absl::Seconds(c.starts ? 30 : 10)).ok();
    EXPECT_EQ(started, c.starts) << absl::StrJoin(c.flags, " ");
    const int status = (*server)->Stop(absl::Seconds(15));
    if (!c.starts) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << absl::StrJoin(c.flags, " ");
    }
    EXPECT_THAT((*server)->Log(), HasSubstr(c.log_part)) << absl::StrJoin(c.flags, " ");
    secrets_.ExpectAbsentFrom("the server's log", (*server)->Log());
  }
}

}  // namespace
}  // namespace pcusage
