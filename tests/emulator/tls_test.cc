// HTTPS: the emulator serving with a throwaway test PKI, and TLS options it refuses.

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/emulator/emulator_fixture.h"
#include "tests/emulator/emulator_server.h"
#include "tests/emulator/seed_sample.h"
#include "tests/testing/testing_tls.h"

namespace pcusage::emulator {
namespace {

class EmulatorTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPki> pki = MakeTestPki(TestDirectory("pki"));
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
  }

  // An HTTPS client of `emulator` that trusts `ca`.
  static std::unique_ptr<httplib::SSLClient> ClientTrusting(const PartnerCenterEmulator& emulator,
                                                            const CertificateFiles& ca) {
    auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", emulator.port());
    client->set_ca_cert_path(ca.cert_file.c_str());
    client->enable_server_certificate_verification(true);
    return client;
  }

  TestPki pki_;
};

TEST_F(EmulatorTlsTest, ServesHttpsToClientsThatTrustTheCa) {
  EmulatorOptions options;
  options.tls_cert_file = pki_.server.cert_file;
  options.tls_key_file = pki_.server.key_file;
  options.refresh_token = kRefreshToken;
  PartnerCenterEmulator emulator(options);
  ASSERT_TRUE(emulator.Start("127.0.0.1", 0).ok());

  std::unique_ptr<httplib::SSLClient> client = ClientTrusting(emulator, pki_.ca);
  httplib::Result page = client->Get(kPath, Authorized());
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, SeedSampleResponse());
  httplib::Result token = client->Post(kTokenPath, GrantForm(kRefreshToken));
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 200);

  httplib::Result untrusted = ClientTrusting(emulator, pki_.other_ca)->Get("/healthz");
  EXPECT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error(), httplib::Error::SSLServerVerification);
  // Plain HTTP gets no answer from an HTTPS port, and the emulator serves on.
  httplib::Client plain("127.0.0.1", emulator.port());
  plain.set_read_timeout(2, 0);
  httplib::Result plain_result = plain.Get("/healthz");
  EXPECT_FALSE(plain_result && plain_result->status == 200);
  EXPECT_EQ(client->Get("/healthz")->status, 200);
}

TEST_F(EmulatorTlsTest, IncompleteOrUnusableTlsFilesAreRejected) {
  const std::pair<std::string, std::string> cases[] = {
      {pki_.server.cert_file, ""},
      {"", pki_.server.key_file},
      {TestDirectory("missing.pem"), pki_.server.key_file},
      {pki_.server.cert_file, pki_.client.key_file},
      {pki_.server.key_file, pki_.server.cert_file},
  };
  for (const auto& [cert_file, key_file] : cases) {
    EmulatorOptions options;
    options.tls_cert_file = cert_file;
    options.tls_key_file = key_file;
    PartnerCenterEmulator emulator(options);
    EXPECT_EQ(emulator.Start("127.0.0.1", 0).code(), absl::StatusCode::kInvalidArgument)
        << cert_file << " " << key_file;
  }
}

}  // namespace
}  // namespace pcusage::emulator
