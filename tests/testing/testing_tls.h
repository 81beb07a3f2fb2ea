// A throwaway public key infrastructure for TLS tests, made at test time with the openssl command-line tool (Debian's
// openssl package): a certificate authority, a server certificate for loopback and a client certificate (for mutual
// TLS) that it signed, and an unrelated second authority, so that a test can show that a peer trusting the right
// authority connects and one trusting another does not. Keys are unencrypted EC P-256 keys, mode 0600; certificates
// are valid from now for 30 days. The emulator's tests and the server's use it.
#ifndef PCUSAGE_TESTS_TESTING_TESTING_TLS_H_
#define PCUSAGE_TESTS_TESTING_TESTING_TLS_H_

#include <string>

#include "absl/status/statusor.h"

namespace pcusage::emulator {

// A PEM certificate and the PEM file of its private key.
struct CertificateFiles {
  std::string cert_file;
  std::string key_file;
};

struct TestPki {
  // A self-signed authority (CN=pcusage test CA): the one peers trust.
  CertificateFiles ca;
  // Signed by `ca` for serving on loopback: subject CN=localhost, subjectAltName IP:127.0.0.1, IP:::1 and
  // DNS:localhost, extendedKeyUsage serverAuth.
  CertificateFiles server;
  // Signed by `ca` for mutual TLS: subject CN=pcusage-test-client, extendedKeyUsage clientAuth.
  CertificateFiles client;
  // A self-signed authority unrelated to the others (CN=pcusage other test CA): a peer that trusts it instead of `ca`
  // must fail to verify `server` and `client`.
  CertificateFiles other_ca;
};

// Makes a TestPki in `directory` (made if missing, but not its parents): ca.pem and ca.key, server.pem and server.key,
// client.pem and client.key, other-ca.pem and other-ca.key, next to openssl's scratch files (openssl.cnf, *.csr,
// openssl.log). Existing files are overwritten, so give concurrent callers directories of their own.
// FAILED_PRECONDITION when openssl cannot be run, INTERNAL with openssl's output when it fails.
absl::StatusOr<TestPki> MakeTestPki(const std::string& directory);

// A client certificate like TestPki::client, but with subject CN=`common_name` and signed by `issuer`, written to
// `directory` as `name`.pem and `name`.key: for mutual TLS tests with more identities, or with an identity that an
// untrusted authority (TestPki::other_ca) vouches for. INVALID_ARGUMENT unless `common_name` and `name` are made of
// letters, digits, '.', '-' and '_'; otherwise as MakeTestPki.
absl::StatusOr<CertificateFiles> MakeClientCertificate(const std::string& directory, const std::string& name,
                                                       const std::string& common_name, const CertificateFiles& issuer);

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_TESTING_TESTING_TLS_H_
