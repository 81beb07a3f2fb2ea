#include "tests/testing/testing_tls.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace pcusage::emulator {
namespace {

using ::testing::HasSubstr;

// A new directory under the test's temporary directory.
std::string NewDirectory() {
  const char* root = getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(root != nullptr ? root : "/tmp", "/pki.XXXXXX");
  return mkdtemp(pattern.data()) != nullptr ? pattern : "";
}

// An HTTPS server on loopback with `pki`'s server certificate that answers GET /hello, requiring a client certificate
// signed by pki.ca when `require_client_certificate`.
class HelloServer {
 public:
  HelloServer(const TestPki& pki, bool require_client_certificate)
      : server_(pki.server.cert_file.c_str(), pki.server.key_file.c_str(),
                require_client_certificate ? pki.ca.cert_file.c_str() : nullptr) {
    server_.Get("/hello", [](const httplib::Request&, httplib::Response& response) {
      response.set_content("hello", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the server runs.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~HelloServer() {
    server_.stop();
    thread_.join();
  }

  bool valid() const { return server_.is_valid() && port_ > 0; }
  int port() const { return port_; }

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  std::thread thread_;
};

class TestingTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = NewDirectory();
    ASSERT_FALSE(directory_.empty());
    absl::StatusOr<TestPki> pki = MakeTestPki(directory_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
  }

  std::string directory_;
  TestPki pki_;
};

TEST_F(TestingTlsTest, WritesTheFilesWithPrivateKeys) {
  EXPECT_EQ(pki_.ca.cert_file, directory_ + "/ca.pem");
  EXPECT_EQ(pki_.server.key_file, directory_ + "/server.key");
  EXPECT_EQ(pki_.client.cert_file, directory_ + "/client.pem");
  EXPECT_EQ(pki_.other_ca.cert_file, directory_ + "/other-ca.pem");
  for (const CertificateFiles* files : {&pki_.ca, &pki_.server, &pki_.client, &pki_.other_ca}) {
    struct stat info {};
    ASSERT_EQ(stat(files->cert_file.c_str(), &info), 0) << files->cert_file;
    EXPECT_GT(info.st_size, 0) << files->cert_file;
    ASSERT_EQ(stat(files->key_file.c_str(), &info), 0) << files->key_file;
    EXPECT_EQ(info.st_mode & 0777, 0600) << files->key_file;
  }
}

TEST_F(TestingTlsTest, AClientTrustingTheCaVerifiesTheServerByAddressAndName) {
  HelloServer server(pki_, /*require_client_certificate=*/false);
  ASSERT_TRUE(server.valid());
  for (const char* host : {"127.0.0.1", "localhost"}) {
    httplib::SSLClient client(host, server.port());
    client.set_ca_cert_path(pki_.ca.cert_file.c_str());
    client.enable_server_certificate_verification(true);
    httplib::Result result = client.Get("/hello");
    ASSERT_TRUE(result) << host << ": " << httplib::to_string(result.error());
    EXPECT_EQ(result->body, "hello");
  }
}

TEST_F(TestingTlsTest, AClientTrustingTheOtherCaFails) {
  HelloServer server(pki_, /*require_client_certificate=*/false);
  ASSERT_TRUE(server.valid());
  httplib::SSLClient client("127.0.0.1", server.port());
  client.set_ca_cert_path(pki_.other_ca.cert_file.c_str());
  client.enable_server_certificate_verification(true);
  httplib::Result result = client.Get("/hello");
  EXPECT_FALSE(result);
  EXPECT_EQ(result.error(), httplib::Error::SSLServerVerification);
}

TEST_F(TestingTlsTest, MutualTlsAcceptsOnlyClientsTheCaSigned) {
  HelloServer server(pki_, /*require_client_certificate=*/true);
  ASSERT_TRUE(server.valid());
  const auto get = [&](const CertificateFiles* identity) {
    std::unique_ptr<httplib::SSLClient> client =
        identity == nullptr
            ? std::make_unique<httplib::SSLClient>("127.0.0.1", server.port())
            : std::make_unique<httplib::SSLClient>("127.0.0.1", server.port(), identity->cert_file, identity->key_file);
    client->set_ca_cert_path(pki_.ca.cert_file.c_str());
    client->enable_server_certificate_verification(true);
    return client->Get("/hello");
  };
  httplib::Result trusted = get(&pki_.client);
  ASSERT_TRUE(trusted) << httplib::to_string(trusted.error());
  EXPECT_EQ(trusted->body, "hello");

  absl::StatusOr<CertificateFiles> second = MakeClientCertificate(directory_, "second", "second-client", pki_.ca);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(get(&*second));

  absl::StatusOr<CertificateFiles> stranger =
      MakeClientCertificate(directory_, "stranger", "pcusage-test-client", pki_.other_ca);
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  EXPECT_FALSE(get(&*stranger));
  EXPECT_FALSE(get(nullptr));
}

TEST_F(TestingTlsTest, ClientCertificateNamesMustBePlain) {
  for (const auto& [name, common_name] :
       {std::pair<const char*, const char*>{"a/b", "x"}, {"x", "CN=evil/O=x"}, {"", "x"}, {"x", ""}}) {
    EXPECT_EQ(MakeClientCertificate(directory_, name, common_name, pki_.ca).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name << " " << common_name;
  }
}

TEST(TestingTlsErrorsTest, AMissingDirectoryIsAnError) {
  const absl::StatusOr<TestPki> pki = MakeTestPki("/nonexistent/pki");
  EXPECT_FALSE(pki.ok());
  EXPECT_THAT(std::string(pki.status().message()), HasSubstr("/nonexistent/pki"));
}

}  // namespace
}  // namespace pcusage::emulator
