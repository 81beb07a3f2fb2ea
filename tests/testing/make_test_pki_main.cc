// make_test_pki: makes a TestPki (testing_tls.h) in a directory, for shell tests that run the emulator or the server
// over TLS. Prints the files it made, one "field path" line each, e.g. "ca.cert_file /tmp/pki/ca.pem".

#include <cstdio>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "tests/testing/testing_tls.h"

namespace pcusage::emulator {
namespace {

int Run(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_test_pki DIRECTORY\n");
    return 2;
  }
  const absl::StatusOr<TestPki> pki = MakeTestPki(argv[1]);
  if (!pki.ok()) {
    std::fprintf(stderr, "make_test_pki: %s\n", pki.status().ToString().c_str());
    return 1;
  }
  const std::pair<const char*, const CertificateFiles*> parts[] = {
      {"ca", &pki->ca}, {"server", &pki->server}, {"client", &pki->client}, {"other_ca", &pki->other_ca}};
  for (const auto& [name, files] : parts) {
    std::printf("%s.cert_file %s\n%s.key_file %s\n", name, files->cert_file.c_str(), name, files->key_file.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace pcusage::emulator

int main(int argc, char** argv) { return pcusage::emulator::Run(argc, argv); }
