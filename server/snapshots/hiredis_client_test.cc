// The hiredis client against a real redis-server (Debian's) on a free loopback port, over redis:// and rediss://
// (TLS, with a test PKI made by the openssl tool: tests/testing/testing_tls.h).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/snapshots/redis_client.h"
#include "tests/testing/loopback.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/testing_tls.h"

namespace pcusage::snapshots {
namespace {

using ::pcusage::emulator::CertificateFiles;
using ::pcusage::emulator::TestPki;
using ::pcusage::testing::RedisServer;

// A directory's path under the test's temporary directory.
std::string TempDirectory(const std::string& name) {
  const char* root = std::getenv("TEST_TMPDIR");
  return absl::StrCat(root != nullptr ? root : "/tmp", "/", name);
}

std::string Slurp(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// One PKI for the whole test binary (every test is in one process): CA, server (127.0.0.1, ::1, localhost), client.
const TestPki& Pki() {
  static const TestPki* const kPki = [] {
    absl::StatusOr<TestPki> made = emulator::MakeTestPki(TempDirectory("pki"));
    return made.ok() ? new TestPki(*std::move(made)) : nullptr;
  }();
  if (kPki == nullptr) ADD_FAILURE() << "could not make the test PKI";
  return *kPki;
}

// A server certificate `ca` signed for elsewhere.example only: a Redis reached as 127.0.0.1 or localhost must refuse
// it.
CertificateFiles ElsewhereCertificate() {
  const std::string directory = TempDirectory("elsewhere");
  const std::string command = absl::StrCat(
      "mkdir -p ", directory, " && cd ", directory,
      " && printf 'subjectAltName=DNS:elsewhere.example\\nextendedKeyUsage=serverAuth\\n' > ext.cnf",
      " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr",
      " -subj /CN=elsewhere.example > openssl.log 2>&1", " && openssl x509 -req -in server.csr -CA ",
      Pki().ca.cert_file, " -CAkey ", Pki().ca.key_file,
      " -CAcreateserial -CAserial serial -days 30 -extfile ext.cnf -out server.pem >> openssl.log 2>&1");
  EXPECT_EQ(std::system(command.c_str()), 0) << Slurp(directory + "/openssl.log");
  return {directory + "/server.pem", directory + "/server.key"};
}

// Trusts the test CA; with `client_certificate`, shows the test client certificate.
std::shared_ptr<const RedisTlsContext> TestTls(bool client_certificate = true,
                                               const std::string& ca_file = Pki().ca.cert_file) {
  RedisTlsOptions tls;
  tls.ca_pem = Slurp(ca_file);
  if (client_certificate) {
    tls.cert_pem = Slurp(Pki().client.cert_file);
    tls.key_pem = Slurp(Pki().client.key_file);
  }
  absl::StatusOr<std::shared_ptr<const RedisTlsContext>> context = NewRedisTlsContext(tls);
  EXPECT_TRUE(context.ok()) << context.status();
  return context.ok() ? *context : nullptr;
}

RedisServer::TlsFiles ServerTls(bool auth_clients = true, const CertificateFiles& server = Pki().server) {
  return {server.cert_file, server.key_file, Pki().ca.cert_file, auth_clients};
}

TEST(ParseRedisUrlTest, HostPortAndDatabase) {
  absl::StatusOr<RedisAddress> address = ParseRedisUrl("redis://10.0.0.5:6380/3");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(address->host, "10.0.0.5");
  EXPECT_EQ(address->port, 6380);
  EXPECT_EQ(address->db, 3);
  address = ParseRedisUrl("redis://cache.internal:6379");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(address->db, 0);
  address = ParseRedisUrl("rediss://cache.internal:6380/2");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_TRUE(address->tls);
  EXPECT_EQ(address->host, "cache.internal");
  EXPECT_EQ(address->port, 6380);
  EXPECT_EQ(address->db, 2);
  EXPECT_FALSE(ParseRedisUrl("redis://cache:6379")->tls);
  for (const char* bad :
       {"redisss://cache:6380", "rediss://cache", "http://cache:6379", "redis://cache", "redis://cache:0",
        "redis://cache:6379/x", "redis://:6379", "redis://cache:6379?db=2", "redis://cache:6379#x", "redis://::1:6379",
        "redis://[::1]", "redis://[::1]6379", "redis://[cache]:6379", "redis://[]:6379"}) {
    EXPECT_EQ(ParseRedisUrl(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParseRedisUrlTest, IPv6HostInBrackets) {
  absl::StatusOr<RedisAddress> address = ParseRedisUrl("rediss://[2001:db8::5]:6380/4");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(address->host, "2001:db8::5");
  EXPECT_EQ(address->port, 6380);
  EXPECT_EQ(address->db, 4);
  EXPECT_TRUE(address->tls);
}

TEST(ParseRedisUrlTest, AUrlWithAPasswordIsRefusedWithoutEchoingIt) {
  for (const char* url : {"redis://:s3cret-pw@cache:6379", "rediss://default:s3cret-pw@cache:6380/1"}) {
    absl::StatusOr<RedisAddress> address = ParseRedisUrl(url);
    EXPECT_EQ(address.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_FALSE(absl::StrContains(address.status().message(), "s3cret")) << address.status();
    EXPECT_TRUE(absl::StrContains(address.status().message(), "--redis_password_file")) << address.status();
  }
}

enum class Scheme { kRedis, kRediss };

// Every command test runs against a plain Redis (redis://) and a TLS one (rediss://, client certificate required).
class HiredisClientTest : public ::testing::TestWithParam<Scheme> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServer>> server =
        GetParam() == Scheme::kRediss ? RedisServer::StartTls(ServerTls()) : RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = NewHiredisClient(Options());
  }

  HiredisOptions Options() const {
    HiredisOptions options;
    options.address = *ParseRedisUrl(server_->url());
    EXPECT_EQ(options.address.tls, GetParam() == Scheme::kRediss);
    if (options.address.tls) options.tls = TestTls();
    options.max_connections = 2;
    return options;
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisClient> client_;
};

INSTANTIATE_TEST_SUITE_P(Schemes, HiredisClientTest, ::testing::Values(Scheme::kRedis, Scheme::kRediss),
                         [](const ::testing::TestParamInfo<Scheme>& info) {
                           return info.param == Scheme::kRediss ? "Rediss" : "Redis";
                         });

TEST_P(HiredisClientTest, CommandsAndLockScripts) {
  EXPECT_EQ(*client_->Get("missing"), std::nullopt);
  const std::string binary("a\0b\r\nc", 6);
  EXPECT_TRUE(*client_->SetIfAbsent("lock", binary, absl::Seconds(10)));
  EXPECT_FALSE(*client_->SetIfAbsent("lock", "other", absl::Seconds(10)));
  EXPECT_EQ(*client_->Get("lock"), binary);
  EXPECT_EQ(*client_->Increment("fence"), 1);
  EXPECT_EQ(*client_->Increment("fence"), 2);
  EXPECT_FALSE(*client_->ExpireIfHolds("lock", "other", absl::Seconds(20)));
  EXPECT_TRUE(*client_->ExpireIfHolds("lock", binary, absl::Seconds(20)));
  EXPECT_FALSE(*client_->SetAndReleaseIfHolds("lock", "other", "snapshot", "pages", absl::Seconds(5)));
  EXPECT_EQ(*client_->Get("snapshot"), std::nullopt);
  EXPECT_TRUE(*client_->SetAndReleaseIfHolds("lock", binary, "snapshot", "pages", absl::Seconds(5)));
  EXPECT_EQ(*client_->Get("snapshot"), "pages");
  EXPECT_EQ(*client_->GetPrefix("snapshot", 3), "pag");
  EXPECT_EQ(*client_->GetPrefix("snapshot", 100), "pages");
  EXPECT_EQ(*client_->GetPrefix("missing", 3), std::nullopt);
  EXPECT_EQ(*client_->Get("lock"), std::nullopt);
  EXPECT_TRUE(*client_->SetIfAbsent("lock", "mine", absl::Milliseconds(50)));
  EXPECT_FALSE(*client_->DeleteIfHolds("lock", "theirs"));
  EXPECT_TRUE(*client_->DeleteIfHolds("lock", "mine"));
  EXPECT_TRUE(*client_->SetIfAbsent("short", "x", absl::Milliseconds(50)));
  absl::SleepFor(absl::Milliseconds(150));
  EXPECT_EQ(*client_->Get("short"), std::nullopt);
}

TEST_P(HiredisClientTest, StreamsAppendReadWaitAndExpire) {
  absl::StatusOr<std::vector<StreamEntry>> entries = client_->StreamRead("live", "0", absl::ZeroDuration(), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());  // no such key
  const std::string binary(
      "p\0a\r\ng\xff"
      "e",
      8);
  for (const std::string& value : {binary, std::string("two"), std::string("three")}) {
    ASSERT_TRUE(client_->StreamAppend("live", value, absl::Seconds(10)).ok());
  }
  entries = client_->StreamRead("live", "0", absl::ZeroDuration(), 2);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2U);
  EXPECT_EQ((*entries)[0].value, binary);
  EXPECT_EQ((*entries)[1].value, "two");
  entries = client_->StreamRead("live", (*entries)[1].id, absl::Milliseconds(100), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1U);
  EXPECT_EQ((*entries)[0].value, "three");
  const std::string last = (*entries)[0].id;

  // Nothing new: a read waits about `block`, then is empty.
  absl::Time start = absl::Now();
  entries = client_->StreamRead("live", last, absl::Milliseconds(200), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));
  // A waiting read returns with an entry appended meanwhile (on the other connection).
  std::thread appender([this] {
    absl::SleepFor(absl::Milliseconds(100));
    EXPECT_TRUE(client_->StreamAppend("live", "four", absl::Seconds(10)).ok());
  });
  start = absl::Now();
  entries = client_->StreamRead("live", last, absl::Milliseconds(400), 4);
  appender.join();
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1U);
  EXPECT_EQ((*entries)[0].value, "four");
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(400));

  // A `block` past the command timeout (1 s) is cut short rather than timing out.
  start = absl::Now();
  entries = client_->StreamRead("live", (*entries)[0].id, absl::Seconds(5), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));

  // The stream lives `ttl` after its last append.
  ASSERT_TRUE(client_->StreamAppend("live", "five", absl::Milliseconds(50)).ok());
  absl::SleepFor(absl::Milliseconds(150));
  entries = client_->StreamRead("live", "0", absl::ZeroDuration(), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());
}

TEST_P(HiredisClientTest, AStreamReadMayBlockPastTheCommandDeadline) {
  HiredisOptions options = Options();
  options.command_timeout = absl::Seconds(4);  // `block` is cut at half of it
  options.command_deadline = absl::Milliseconds(500);
  std::unique_ptr<RedisClient> client = NewHiredisClient(options);
  ASSERT_TRUE(client->StreamAppend("live", "one", absl::Seconds(30)).ok());
  absl::StatusOr<std::vector<StreamEntry>> entries = client->StreamRead("live", "0", absl::ZeroDuration(), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1U);
  const std::string last = (*entries)[0].id;
  // Redis answers after the command deadline, within `block`.
  std::thread appender([this] {
    absl::SleepFor(absl::Milliseconds(1200));
    EXPECT_TRUE(client_->StreamAppend("live", "two", absl::Seconds(30)).ok());
  });
  entries = client->StreamRead("live", last, absl::Seconds(2), 4);
  appender.join();
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1U);
  EXPECT_EQ((*entries)[0].value, "two");
  // Nothing comes: Redis answers at the end of `block`, past the command deadline too.
  entries = client->StreamRead("live", (*entries)[0].id, absl::Seconds(2), 4);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());
}

TEST_P(HiredisClientTest, RedisGoneIsAnErrorAtOnceAndComingBackIsServedAgain) {
  ASSERT_TRUE(client_->SetIfAbsent("k", "v", absl::Seconds(30)).ok());
  server_->Stop();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::optional<std::string>> value = client_->Get("k");
  EXPECT_FALSE(value.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_TRUE(server_->Restart().ok());
  value = client_->Get("k");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, std::nullopt);  // nothing persisted
}

TEST_P(HiredisClientTest, AReplyPastTheBoundIsDataLossAndTheConnectionIsDropped) {
  const std::string big(256 << 10, 'x');
  ASSERT_TRUE(*client_->SetIfAbsent("big", big, absl::Seconds(30)));
  HiredisOptions options = Options();
  options.max_reply_bytes = 1000;
  std::unique_ptr<RedisClient> small = NewHiredisClient(options);
  EXPECT_EQ(small->Get("big").status().code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<std::optional<std::string>> value = small->Get("missing");  // on a new connection
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, std::nullopt);
  EXPECT_EQ(*client_->Get("big"), big);
}

TEST_P(HiredisClientTest, RedisKilledMidCommandIsAnErrorNotAHang) {
  HiredisOptions options = Options();
  options.command_timeout = absl::Seconds(10);
  std::unique_ptr<RedisClient> client = NewHiredisClient(options);
  ASSERT_TRUE(client->StreamAppend("live", "one", absl::Seconds(30)).ok());
  std::thread killer([this] {
    absl::SleepFor(absl::Milliseconds(300));
    server_->Kill();
  });
  const absl::Time start = absl::Now();
  // Waits (BLOCK) for an entry that never comes: the kill ends it.
  absl::StatusOr<std::vector<StreamEntry>> entries = client->StreamRead("live", "$", absl::Seconds(4), 4);
  killer.join();
  EXPECT_EQ(entries.status().code(), absl::StatusCode::kUnavailable) << entries.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

// rediss:// failures: each an UNAVAILABLE error, soon, naming the TLS handshake and why.
class HiredisTlsTest : public ::testing::Test {
 protected:
  void StartRedis(const RedisServer::TlsFiles& tls) {
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::StartTls(tls);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A GET through a client of `tls` to host:port of the Redis started.
  absl::Status Get(std::shared_ptr<const RedisTlsContext> tls, const std::string& host = "127.0.0.1") {
    HiredisOptions options;
    options.address = *ParseRedisUrl(absl::StrCat("rediss://", host, ":", server_->port()));
    options.tls = std::move(tls);
    options.connect_timeout = absl::Seconds(5);
    options.command_timeout = absl::Seconds(5);
    const absl::Time start = absl::Now();
    absl::Status status = NewHiredisClient(options)->Get("k").status();
    EXPECT_LT(absl::Now() - start, absl::Seconds(4)) << status;
    std::cerr << host << ": " << status << "\n";
    return status;
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(HiredisTlsTest, AServerReachedByItsDnsNameAndNoClientCertificateWhenRedisAsksNone) {
  StartRedis(ServerTls(/*auth_clients=*/false));
  EXPECT_TRUE(Get(TestTls(/*client_certificate=*/false), "localhost").ok());
  EXPECT_TRUE(Get(TestTls(/*client_certificate=*/true), "127.0.0.1").ok());
}

TEST_F(HiredisTlsTest, AServerCertificateOfAnotherAuthorityIsRefused) {
  StartRedis(ServerTls(/*auth_clients=*/false));
  const absl::Status status = Get(TestTls(/*client_certificate=*/false, Pki().other_ca.cert_file));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(status.message(),
                                absl::StrCat("Redis TLS handshake with 127.0.0.1:", server_->port(), " failed")))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "certificate verify failed")) << status;
  // The system trust store (no CA file) does not know the test authority either.
  const absl::Status system = Get(nullptr);
  EXPECT_EQ(system.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(system.message(), "certificate verify failed")) << system;
}

TEST_F(HiredisTlsTest, AServerCertificateForAnotherNameIsRefused) {
  StartRedis(ServerTls(/*auth_clients=*/false, ElsewhereCertificate()));
  for (const char* host : {"127.0.0.1", "localhost"}) {
    const absl::Status status = Get(TestTls(/*client_certificate=*/false), host);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << host;
    EXPECT_TRUE(absl::StrContains(status.message(), "certificate verify failed")) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "mismatch")) << status;
  }
}

TEST_F(HiredisTlsTest, NoClientCertificateWhenRedisAsksOneIsAnError) {
  StartRedis(ServerTls(/*auth_clients=*/true));
  const absl::Status status = Get(TestTls(/*client_certificate=*/false));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "Redis asked for a client certificate, and none is configured"))
      << status;
}

TEST_F(HiredisTlsTest, APlainRedisIsAnErrorWithinTheConnectTimeout) {
  absl::StatusOr<std::unique_ptr<RedisServer>> plain = RedisServer::Start();
  ASSERT_TRUE(plain.ok()) << plain.status();
  HiredisOptions options;
  options.address = *ParseRedisUrl(absl::StrCat("rediss://127.0.0.1:", (*plain)->port()));
  options.tls = TestTls();
  options.connect_timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  // Redis reads the ClientHello as the start of an inline command and waits for its end: the handshake times out.
  const absl::Status status = NewHiredisClient(options)->Get("k").status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "TLS handshake")) << status;
}

TEST(RedisTlsContextTest, BadFilesAreRefusedNamingWhichAndNeverQuotingTheKey) {
  const std::string key = Slurp(Pki().client.key_file);
  const std::string cert = Slurp(Pki().client.cert_file);
  const std::string ca = Slurp(Pki().ca.cert_file);
  const struct {
    RedisTlsOptions options;
    RedisTlsInput bad;
  } cases[] = {
      {{"not a certificate", "", ""}, RedisTlsInput::kCa},
      {{ca.substr(0, ca.size() / 2), "", ""}, RedisTlsInput::kCa},
      {{ca, key, key}, RedisTlsInput::kCert},  // a key where the certificate should be
      {{ca, cert, "garbage"}, RedisTlsInput::kKey},
      {{ca, cert, Slurp(Pki().server.key_file)}, RedisTlsInput::kKey},  // another certificate's key
      {{ca, cert, ""}, RedisTlsInput::kKey},
      {{ca, "", key}, RedisTlsInput::kCert},
  };
  for (const auto& [options, bad] : cases) {
    RedisTlsInput input = RedisTlsInput::kCa;
    absl::StatusOr<std::shared_ptr<const RedisTlsContext>> context = NewRedisTlsContext(options, &input);
    ASSERT_FALSE(context.ok());
    EXPECT_EQ(context.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(input, bad) << context.status();
    EXPECT_FALSE(absl::StrContains(context.status().message(), "PRIVATE")) << context.status();
    EXPECT_FALSE(absl::StrContains(context.status().message(), key.substr(40, 20))) << context.status();
  }
  EXPECT_TRUE(NewRedisTlsContext({ca, cert, key}).ok());
  EXPECT_TRUE(NewRedisTlsContext({}).ok());  // the system trust store
}

// A loopback "Redis" answering its first command with the header of a 64 MiB value, then one byte of it every
// 200 ms, for at most 20 s (then it closes the connection): a reply that always makes progress and never ends.
class TricklingRedis {
 public:
  TricklingRedis() {
    listener_ = testing::BindLoopback(&port_, /*backlog=*/4);
    EXPECT_GE(listener_, 0);
    server_ = std::thread([this] { Serve(); });
  }
  ~TricklingRedis() {
    stop_.Notify();
    shutdown(listener_, SHUT_RDWR);  // ends a pending accept
    server_.join();
    close(listener_);
  }
  TricklingRedis(const TricklingRedis&) = delete;
  TricklingRedis& operator=(const TricklingRedis&) = delete;

  int port() const { return port_; }

 private:
  void Serve() {
    const int fd = accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    char command[4096];
    if (recv(fd, command, sizeof(command), 0) > 0) {
      const std::string header = "$67108864\r\n";
      send(fd, header.data(), header.size(), MSG_NOSIGNAL);
      const absl::Time end = absl::Now() + absl::Seconds(20);
      while (absl::Now() < end && !stop_.WaitForNotificationWithTimeout(absl::Milliseconds(200))) {
        if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) break;
      }
    }
    close(fd);
  }

  int listener_ = -1;
  int port_ = 0;
  absl::Notification stop_;
  std::thread server_;
};

TEST(HiredisClientTimeoutTest, AReplyTricklingInEndsAtTheCommandDeadline) {
  TricklingRedis redis;
  HiredisOptions options;
  options.address = *ParseRedisUrl(absl::StrCat("redis://127.0.0.1:", redis.port()));
  options.command_timeout = absl::Seconds(1);  // every byte comes well within it
  options.command_deadline = absl::Seconds(1);
  std::unique_ptr<RedisClient> client = NewHiredisClient(options);
  const absl::Time start = absl::Now();
  const absl::Status status = client->Get("snapshot").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "Redis did not finish GET within 1s")) << status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(HiredisClientTimeoutTest, NothingListeningIsUnavailable) {
  HiredisOptions options;
  options.address = *ParseRedisUrl("redis://127.0.0.1:1");
  std::unique_ptr<RedisClient> client = NewHiredisClient(options);
  EXPECT_FALSE(client->Get("k").ok());
  EXPECT_FALSE(client->SetIfAbsent("k", "v", absl::Seconds(1)).ok());
}

}  // namespace
}  // namespace pcusage::snapshots
