// Partner Center credentials and caller authentication end to end, with real processes on loopback: the
// refresh-token grant against the emulator's token endpoint (caching, rotation written back, renewal when a token
// expires mid-call, a refused refresh token), upstream TLS verified with a CA made at test time, a TLS listener
// with API keys or an mTLS allow list, and a check that no secret ever appears in what the server wrote.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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
  std::string path = TempPath(name);
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

// `text` as one single-quoted bash word.
std::string Quoted(const std::string& text) {
  return absl::StrCat("'", absl::StrJoin(absl::StrSplit(text, '\''), "'\\''"), "'");
}

struct CliRun {
  int exit_status = -1;
  std::string out;
  std::string err;
};

// `pcusage_cli list --server=127.0.0.1:<port> <flags>`, its stdout and stderr captured apart.
CliRun RunCli(int port, const std::vector<std::string>& flags) {
  std::vector<std::string> words = {Quoted(RunfilePath("client_stubs/cpp/pcusage_cli")), "list",
                                    absl::StrCat("--server=127.0.0.1:", port), "--timeout=60s"};
  for (const std::string& flag : flags) words.push_back(Quoted(flag));
  const std::string out = TempPath("cli.out");
  const std::string err = TempPath("cli.err");
  const int status =
      std::system(absl::StrCat(absl::StrJoin(words, " "), " </dev/null >", Quoted(out), " 2>", Quoted(err)).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out), ReadFile(err)};
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

  int TokenRequests() const { return EmulatorGet(emulator_.port, "/emulator/tokens").value("token_requests", -1); }

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

TEST_F(TlsTest, AnApiKeyAndACertificateOfTheSameNameCannotResumeEachOthersStreams) {
  Running emulator = StartEmulator({"--dataset=seed"});
  // The key is named alice, and so is the certificate identity on the allow list.
  Running server = StartServer(
      {"--listen=0.0.0.0:0", "--tls_cert_file=" + pki_.server.cert_file, "--tls_key_file=" + pki_.server.key_file,
       "--tls_client_ca_file=" + pki_.ca.cert_file, "--client_allow_list_file=" + WriteFile("allow_alice", "alice\n"),
       "--api_keys_file=" + WriteFile("keys_alice", callers::CallerAuthenticator::HashLine("alice", kApiKey).value()),
       "--access_token_file=" + token_file_, absl::StrCat("--partner_center_url=http://127.0.0.1:", emulator.port)});
  ASSERT_NE(server.port, 0);
  absl::StatusOr<emulator::CertificateFiles> alice_certificate =
      emulator::MakeClientCertificate(pki_dir_, "alice", "alice", pki_.ca);
  ASSERT_TRUE(alice_certificate.ok()) << alice_certificate.status();
  // The key's holder shows a certificate too (the listener asks every caller for one), but not one allowed.
  absl::StatusOr<emulator::CertificateFiles> other_certificate =
      emulator::MakeClientCertificate(pki_dir_, "other", "other.example", pki_.ca);
  ASSERT_TRUE(other_certificate.ok()) << other_certificate.status();
  client::UsageRecordsClient by_certificate(Tls(server.port, pki_.ca.cert_file, &*alice_certificate));
  client::UsageRecordsClient by_key(Tls(server.port, pki_.ca.cert_file, &*other_certificate));
  client::ListOptions options;
  options.page_size = 2;
  options.timeout = absl::Seconds(60);
  client::ListOptions key_options = options;
  key_options.api_key = kApiKey;

  // Each stops after the first message of two records and keeps that message's resume token.
  const auto first_message = [](const client::UsageRecordsClient& client, const client::ListOptions& options) {
    int records = 0;
    return client.ListUsageRecords(options, [&records](const auto&) { return ++records <= 2; });
  };
  const client::ListSummary certificate_stream = first_message(by_certificate, options);
  const client::ListSummary key_stream = first_message(by_key, key_options);
  ASSERT_FALSE(certificate_stream.resume_token.empty()) << certificate_stream.status.error_message();
  ASSERT_FALSE(key_stream.resume_token.empty()) << key_stream.status.error_message();

  for (const auto& [caller, resume_options, token] :
       {std::tuple<const client::UsageRecordsClient&, client::ListOptions, std::string>{
            by_key, key_options, certificate_stream.resume_token},
        {by_certificate, options, key_stream.resume_token}}) {
    client::ListOptions stolen = resume_options;
    stolen.resume_token = token;
    const client::ListSummary refused = caller.ListUsageRecords(stolen, [](const auto&) { return true; });
    EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << refused.status.error_message();
    ASSERT_TRUE(refused.error_info.has_value());
    EXPECT_EQ(refused.error_info->reason(), "RESUME_TOKEN_INVALID");
  }
  // Each still resumes its own stream.
  client::ListOptions own = options;
  own.resume_token = certificate_stream.resume_token;
  const client::ListSummary resumed = by_certificate.ListUsageRecords(own, [](const auto&) { return true; });
  ASSERT_TRUE(resumed.status.ok()) << resumed.status.error_message();
  EXPECT_EQ(resumed.records, 2);
  key_options.resume_token = key_stream.resume_token;
  EXPECT_TRUE(by_key.ListUsageRecords(key_options, [](const auto&) { return true; }).status.ok());
  EXPECT_THAT(server.process->Log(), HasSubstr("caller=cert:alice"));
  EXPECT_THAT(server.process->Log(), HasSubstr("caller=key:alice"));
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

// Upstream answers that echo what they were sent: the access token (in a 401's description, a 403's code, a
// Retry-After, a record value, an Authorization header), the token request's form, a JWT. In every auth mode
// none of it reaches the caller's status message, its details, pcusage_cli's output or the server's log.
// Runs with each --log_format: no secret reaches the log either way, and a JSON log is one valid object per line.
class EchoedSecretsTest : public ::testing::TestWithParam<std::string> {
 protected:
  static std::string LogFormatFlag() { return "--log_format=" + GetParam(); }

  void ExpectLogAbsentOfSecrets(const std::string& what, const std::string& log) {
    secrets_.ExpectAbsentFrom(what, log);
    if (GetParam() != "json") return;
    for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
      EXPECT_TRUE(nlohmann::json::accept(line)) << what << ": not a JSON object: " << line;
    }
  }

  void StartStack(const std::string& auth_mode) {
    emulator_ = StartEmulator({"--dataset=generated", "--customers=5", "--page_size=5",
                               absl::StrCat("--refresh_token=", kInitialRefreshToken),
                               absl::StrCat("--client_secret=", kClientSecret)});
    ASSERT_NE(emulator_.port, 0);
    std::vector<std::string> flags = {absl::StrCat("--partner_center_url=http://127.0.0.1:", emulator_.port),
                                      "--snapshot_max_staleness=0", "--max_attempts=1", LogFormatFlag()};
    if (auth_mode == "static") flags.push_back("--access_token_file=" + WriteFile("token", kStaticToken));
    if (auth_mode == "passthrough") caller_token_ = kStaticToken;
    if (auth_mode == "refresh_token") {
      flags.insert(flags.end(),
                   {"--auth_mode=refresh_token", absl::StrCat("--client_id=", kClientId),
                    "--client_secret_file=" + WriteFile("client_secret", kClientSecret),
                    "--refresh_token_file=" + WriteFile("refresh_token", kInitialRefreshToken),
                    absl::StrCat("--token_url=http://127.0.0.1:", emulator_.port, "/contoso/oauth2/token")});
    }
    server_ = StartServer(flags);
    ASSERT_NE(server_.port, 0);
    for (const char* secret : {kStaticToken, kInitialRefreshToken, kClientSecret, kJwt}) secrets_.Add(secret);
  }

  void TearDown() override {
    if (emulator_.port != 0) secrets_.AddEmulatorTokens(emulator_.port);
    if (server_.process != nullptr) {
      EXPECT_EQ(server_.process->Stop(absl::Seconds(15)), 0);
      ExpectLogAbsentOfSecrets("the server's log", server_.process->Log());
    }
  }

  Listing Call() {
    client::ListOptions options;
    options.access_token = caller_token_;
    return List(Plaintext(server_.port), options);
  }

  // The access token the server sends Partner Center: after one call, from the emulator's request log.
  std::string ServerAccessToken() {
    EXPECT_TRUE(Call().summary.status.ok());
    const nlohmann::json requests = EmulatorGet(emulator_.port, "/emulator/requests");
    const std::string authorization =
        requests.empty() ? "" : requests.back()["headers"].value("authorization", std::string());
    EXPECT_EQ(authorization.rfind("Bearer ", 0), 0u) << requests.dump();
    return authorization.substr(std::min<std::size_t>(7, authorization.size()));
  }

  // One call while `faults` are in force: it fails, and its status and details hold no secret.
  void ExpectCallFailsWithoutSecrets(const std::string& what, const nlohmann::json& fault) {
    httplib::Client http("127.0.0.1", emulator_.port);
    httplib::Result set = http.Post("/emulator/faults", nlohmann::json::array({fault}).dump(), "application/json");
    ASSERT_TRUE(set && set->status == 200) << what << ": " << (set ? set->body : "no answer");
    Listing listing = Call();
    EXPECT_FALSE(listing.summary.status.ok()) << what;
    EXPECT_THAT(listing.summary.status.error_message(), HasSubstr("[redacted]")) << what;
    secrets_.ExpectAbsentFrom(what + ": status message", listing.summary.status.error_message());
    secrets_.ExpectAbsentFrom(what + ": status details", listing.summary.status.error_details());
    ExpectCliFailsWithoutSecrets(what, server_.port);
    http.Delete("/emulator/faults");
  }

  // pcusage_cli, with the caller's token if it has one, fails against the server on `port` (exit 1, the status on
  // stderr) and prints no secret to stdout or stderr.
  void ExpectCliFailsWithoutSecrets(const std::string& what, int port) {
    std::vector<std::string> flags = {"--format=jsonl"};
    if (!caller_token_.empty()) flags.push_back("--access_token_file=" + WriteFile("cli_token", caller_token_));
    const CliRun cli = RunCli(port, flags);
    EXPECT_EQ(cli.exit_status, 1) << what << ": " << cli.err;
    EXPECT_THAT(cli.err, HasSubstr("[redacted]")) << what << ": the echo reached pcusage_cli, redacted";
    secrets_.ExpectAbsentFrom(what + ": pcusage_cli's stdout", cli.out);
    secrets_.ExpectAbsentFrom(what + ": pcusage_cli's stderr", cli.err);
  }

  // Page 0 answered with `status` and `body` (every time, so that a renewed token meets it too).
  static nlohmann::json UsageFault(int status, const nlohmann::json& body, const std::string& retry_after = "") {
    nlohmann::json rule = {
        {"page", 0}, {"times", -1}, {"fault", "http_status"}, {"status", status}, {"body", body.dump()}};
    if (!retry_after.empty()) rule["retry_after"] = retry_after;
    return rule;
  }

  void ExpectPartnerCenterEchoesReachNoOne() {
    const std::string token = ServerAccessToken();
    secrets_.Add(token);
    const std::string form = absl::StrCat("refresh_token=", kInitialRefreshToken, "&client_secret=", kClientSecret);
    ExpectCallFailsWithoutSecrets("a 401 description",
                                  UsageFault(401, {{"code", 401},
                                                   {"description", absl::StrCat("token ", token, " or ", form,
                                                                                " is not valid; Authorization: "
                                                                                "Bearer ",
                                                                                token)}}));
    ExpectCallFailsWithoutSecrets("a 403 code", UsageFault(403, {{"code", token}, {"description", kJwt}}));
    ExpectCallFailsWithoutSecrets(
        "a Retry-After", UsageFault(400, {{"code", 400}, {"description", "no"}}, absl::StrCat(token, " ", kJwt)));
    ExpectCallFailsWithoutSecrets(
        "a record value",
        UsageFault(200, {{"totalCount", 1}, {"items", {{{"resourceId", "c"}, {"totalCost", token}}}}}));
  }

  // An unsigned JWT nobody holds: redacted by its shape.
  static constexpr char kJwt[] = "eyJhbGciOiJub25lIn0.eyJ0aWQiOiJTRUNSRVQtand0LTZlMWEifQ.c2lnLVNFQ1JFVA";

  Running emulator_;
  Running server_;
  std::string caller_token_;
  SecretWatch secrets_;
};

TEST_P(EchoedSecretsTest, PassthroughPartnerCenterEchoesReachNoOne) {
  StartStack("passthrough");
  ExpectPartnerCenterEchoesReachNoOne();
}

TEST_P(EchoedSecretsTest, StaticPartnerCenterEchoesReachNoOne) {
  StartStack("static");
  ExpectPartnerCenterEchoesReachNoOne();
}

TEST_P(EchoedSecretsTest, RefreshTokenPartnerCenterEchoesReachNoOne) {
  StartStack("refresh_token");
  ExpectPartnerCenterEchoesReachNoOne();
}

TEST_P(EchoedSecretsTest, TokenEndpointEchoesReachNoOne) {
  StartStack("refresh_token");
  const std::string form = absl::StrCat("grant_type=refresh_token&client_id=", kClientId,
                                        "&refresh_token=", kInitialRefreshToken, "&client_secret=", kClientSecret);
  ExpectCallFailsWithoutSecrets(
      "a token endpoint 400",
      {{"route", "token"},
       {"times", -1},
       {"fault", "http_status"},
       {"status", 400},
       {"body",
        nlohmann::json({{"error", kClientSecret}, {"error_description", "AADSTS900144: got " + form}}).dump()}});
}

// Credentials in the server's own flags: a proxy URL libcurl cannot parse (its error quotes the URL), and a Partner
// Center URL with userinfo (refused at start, quoting it).
TEST_P(EchoedSecretsTest, CredentialsInFlagUrlsReachNoOne) {
  constexpr char kProxyPassword[] = "proxy/pass-SECRET-31";
  constexpr char kUrlPassword[] = "pc-url-SECRET-88";
  secrets_.Add(kProxyPassword);
  secrets_.Add(kUrlPassword);
  StartStack("static");
  Running proxied = StartServer({absl::StrCat("--partner_center_url=http://127.0.0.1:", emulator_.port),
                                 "--access_token_file=" + WriteFile("token", kStaticToken), "--max_attempts=1",
                                 absl::StrCat("--proxy=http://user:", kProxyPassword, "@[::1"), LogFormatFlag()});
  ASSERT_NE(proxied.port, 0);
  Listing listing = List(Plaintext(proxied.port));
  EXPECT_FALSE(listing.summary.status.ok());
  secrets_.ExpectAbsentFrom("a proxy error", listing.summary.status.error_message());
  secrets_.ExpectAbsentFrom("a proxy error's details", listing.summary.status.error_details());
  ExpectCliFailsWithoutSecrets("a proxy error", proxied.port);
  EXPECT_EQ(proxied.process->Stop(absl::Seconds(15)), 0);
  ExpectLogAbsentOfSecrets("the proxied server's log", proxied.process->Log());

  auto refused = ChildProcess::Start(
      RunfilePath("server/pcusage_server"),
      {"--listen=127.0.0.1:0", absl::StrCat("--partner_center_url=http://user:", kUrlPassword, "@127.0.0.1:1"),
       LogFormatFlag()},
      TempPath("refused.log"));
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE((*refused)->WaitForPortFile(TempPath("never.port"), absl::Seconds(10)).ok());
  EXPECT_NE((*refused)->Stop(), 0);
  EXPECT_THAT((*refused)->Log(),
              HasSubstr(GetParam() == "json" ? "Partner Center URL \\\"http://[redacted]@127.0.0.1:1\\\""
                                             : "Partner Center URL \"http://[redacted]@127.0.0.1:1\""));
  ExpectLogAbsentOfSecrets("a refused start's log", (*refused)->Log());
}

INSTANTIATE_TEST_SUITE_P(LogFormats, EchoedSecretsTest, ::testing::Values("text", "json"));

}  // namespace
}  // namespace pcusage
