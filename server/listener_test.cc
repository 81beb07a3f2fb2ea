#include "server/listener.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pcusage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A self-signed EC P-256 certificate for `common_name`, valid from an hour ago until `valid_for_seconds` from now,
// and its key, written as PEM files under the test's temporary directory.
struct KeyAndCertificate {
  std::string key_file;
  std::string cert_file;
};

std::string Write(const std::string& name, const std::string& contents) {
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path, std::ios::trunc) << contents;
  return path;
}

std::string PemOf(const std::function<int(BIO*)>& write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  EXPECT_EQ(write(bio.get()), 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT(google-runtime-int): OpenSSL's type
  return std::string(data, static_cast<std::size_t>(size));
}

KeyAndCertificate MakeCertificate(const std::string& name, const std::string& common_name,
                                  long valid_for_seconds = 86400) {  // NOLINT(google-runtime-int): OpenSSL's type
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> certificate(X509_new(), X509_free);
  X509_set_version(certificate.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), valid_for_seconds);
  X509_set_pubkey(certificate.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(certificate.get(), subject);
  EXPECT_GT(X509_sign(certificate.get(), key.get(), EVP_sha256()), 0);
  return {Write(name + ".key", PemOf([&](BIO* bio) {
                  return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
                })),
          Write(name + ".pem", PemOf([&](BIO* bio) { return PEM_write_bio_X509(bio, certificate.get()); }))};
}

ListenerFiles TlsFiles(const std::string& key_file, const std::string& cert_file) {
  ListenerFiles files;
  files.tls_key_file = key_file;
  files.tls_cert_file = cert_file;
  return files;
}

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

TEST(ReadTlsMaterialTest, AMatchingKeyAndCertificateAreReadAndDescribed) {
  const KeyAndCertificate server = MakeCertificate("good", "pcusage.example");
  ListenerFiles files = TlsFiles(server.key_file, server.cert_file);
  files.tls_client_ca_file = MakeCertificate("client_ca", "pcusage callers CA").cert_file;
  absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(files);
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_THAT(material->private_key, HasSubstr("PRIVATE KEY"));
  EXPECT_THAT(material->certificate_chain, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(material->client_ca, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(material->description, HasSubstr("certificate CN=pcusage.example valid until 20"));
  EXPECT_THAT(material->description, HasSubstr("client CA " + files.tls_client_ca_file));
}

TEST(ReadTlsMaterialTest, WhatAHandshakeWouldFailOnIsRefusedNamingTheFlagNotTheContents) {
  const KeyAndCertificate first = MakeCertificate("first", "first.example");
  const KeyAndCertificate second = MakeCertificate("second", "second.example");
  const std::string garbage = Write("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64 at all\n");
  struct Case {
    ListenerFiles files;
    std::string says;
  };
  ListenerFiles bad_client_ca = TlsFiles(first.key_file, first.cert_file);
  bad_client_ca.tls_client_ca_file = garbage;
  const Case cases[] = {
      {TlsFiles(second.key_file, first.cert_file), "--tls_key_file " + second.key_file +
                                                       " is not the key of the certificate in --tls_cert_file " +
                                                       first.cert_file},
      {TlsFiles(first.key_file, garbage), "--tls_cert_file " + garbage + " holds no PEM certificate"},
      {TlsFiles(garbage, first.cert_file), "--tls_key_file " + garbage + " holds no PEM private key"},
      {TlsFiles(first.key_file, Write("empty.pem", "")), "cannot be read"},
      {bad_client_ca, "--tls_client_ca_file " + garbage + " holds no PEM certificate"},
  };
  for (const Case& bad : cases) {
    absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(bad.files);
    ASSERT_FALSE(material.ok()) << bad.says;
    EXPECT_EQ(material.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(material.status().message()), HasSubstr(bad.says));
    EXPECT_THAT(std::string(material.status().message()), Not(HasSubstr("BEGIN")));
  }
  const KeyAndCertificate expired = MakeCertificate("expired", "old.example", -60);
  absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(TlsFiles(expired.key_file, expired.cert_file));
  EXPECT_THAT(std::string(material.status().message()), HasSubstr("the certificate expired at 20"));
}

TEST(MakeListenerTest, TlsFilesAreCheckedAtStart) {
  const KeyAndCertificate first = MakeCertificate("start_first", "first.example");
  const KeyAndCertificate second = MakeCertificate("start_second", "second.example");
  absl::StatusOr<Listener> listener = MakeListener(TlsFiles(first.key_file, first.cert_file));
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_TRUE(listener->tls);
  EXPECT_NE(listener->credentials, nullptr);
  absl::StatusOr<Listener> mismatched = MakeListener(TlsFiles(second.key_file, first.cert_file));
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatched.status().message()), HasSubstr("is not the key of the certificate"));
  ListenerFiles negative = TlsFiles(first.key_file, first.cert_file);
  negative.reload_interval = -absl::Seconds(1);
  EXPECT_THAT(std::string(MakeListener(negative).status().message()), HasSubstr("--listener_reload_interval"));
}

}  // namespace
}  // namespace pcusage
