#include "tests/testing/testing_tls.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

extern char** environ;

namespace pcusage::emulator {
namespace {

constexpr char kValidityDays[] = "30";

// The extensions of each kind of certificate. The [req] sections only satisfy `openssl req`: -subj gives the subject.
constexpr char kConfig[] = R"(# Written by tests/testing/testing_tls.cc.
[req]
distinguished_name = req_dn
prompt = no
[req_dn]
CN = placeholder
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// Runs `openssl` with `args`, its output going to `log`.
absl::Status RunOpenssl(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv_storage = {"openssl"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int error = posix_spawnp(&pid, "openssl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run openssl (Debian's openssl package): ", std::strerror(error)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError(absl::StrCat("waitpid: ", std::strerror(errno)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("openssl ", absl::StrJoin(args, " "), " failed (wait status ", status, "):\n", ReadFile(log)));
  }
  return absl::OkStatus();
}

// A fresh positive serial number: certificates from one issuer must not share one.
std::string Serial() {
  std::random_device random;
  const uint64_t serial = (uint64_t{random()} << 32 | random()) & 0x7fffffffffffffff;
  return std::to_string(serial | 1);
}

// Writes the openssl configuration to `directory` and returns its path.
absl::StatusOr<std::string> WriteConfig(const std::string& directory) {
  const std::string path = absl::StrCat(directory, "/openssl.cnf");
  std::ofstream out(path, std::ios::trunc);
  out << kConfig;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return path;
}

// The arguments of `openssl req` that make a new EC P-256 key in `key_file` and write a request for a certificate of
// `subject` (a self-signed certificate with -x509) to `out_file`.
std::vector<std::string> NewKeyArgs(const std::string& config, const std::string& key_file, const std::string& out_file,
                                    const std::string& subject) {
  return {"req",     "-new",   "-newkey", "ec",     "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", key_file, "-out",    out_file, "-subj",    absl::StrCat("/CN=", subject),  "-config",
          config};
}

// Sets the mode of `key_file` to 0600, as for any private key.
absl::Status Protect(const std::string& key_file) {
  if (chmod(key_file.c_str(), 0600) != 0) {
    return absl::InternalError(absl::StrCat("chmod ", key_file, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// A self-signed authority for `subject`, as `name`.pem and `name`.key in `directory`.
absl::StatusOr<CertificateFiles> Authority(const std::string& directory, const std::string& name,
                                           const std::string& subject) {
  absl::StatusOr<std::string> config = WriteConfig(directory);
  if (!config.ok()) return config.status();
  const std::string stem = absl::StrCat(directory, "/", name);
  CertificateFiles files{absl::StrCat(stem, ".pem"), absl::StrCat(stem, ".key")};
  std::vector<std::string> args = NewKeyArgs(*config, files.key_file, files.cert_file, subject);
  args.insert(args.end(), {"-x509", "-days", kValidityDays, "-set_serial", Serial(), "-extensions", "ca_ext"});
  if (absl::Status status = RunOpenssl(args, absl::StrCat(directory, "/openssl.log")); !status.ok()) return status;
  if (absl::Status status = Protect(files.key_file); !status.ok()) return status;
  return files;
}

// A certificate for `subject` with the extensions of config section `extensions`, signed by `issuer`, as `name`.pem
// and `name`.key in `directory`.
absl::StatusOr<CertificateFiles> Issue(const std::string& directory, const std::string& name,
                                       const std::string& subject, const std::string& extensions,
                                       const CertificateFiles& issuer) {
  absl::StatusOr<std::string> config = WriteConfig(directory);
  if (!config.ok()) return config.status();
  const std::string stem = absl::StrCat(directory, "/", name);
  CertificateFiles files{absl::StrCat(stem, ".pem"), absl::StrCat(stem, ".key")};
  const std::string request = absl::StrCat(stem, ".csr");
  const std::string log = absl::StrCat(directory, "/openssl.log");
  if (absl::Status status = RunOpenssl(NewKeyArgs(*config, files.key_file, request, subject), log); !status.ok()) {
    return status;
  }
  if (absl::Status status = Protect(files.key_file); !status.ok()) return status;
  if (absl::Status status = RunOpenssl(
          {"x509", "-req", "-in", request, "-CA", issuer.cert_file, "-CAkey", issuer.key_file, "-set_serial", Serial(),
           "-days", kValidityDays, "-extfile", *config, "-extensions", extensions, "-out", files.cert_file},
          log);
      !status.ok()) {
    return status;
  }
  return files;
}

// Whether `text` is non-empty and safe in a file name and an openssl -subj value.
bool IsPlainName(absl::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<TestPki> MakeTestPki(const std::string& directory) {
  if (mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("mkdir ", directory, ": ", std::strerror(errno)));
  }
  TestPki pki;
  absl::StatusOr<CertificateFiles> ca = Authority(directory, "ca", "pcusage test CA");
  if (!ca.ok()) return ca.status();
  pki.ca = *std::move(ca);
  absl::StatusOr<CertificateFiles> server = Issue(directory, "server", "localhost", "server_ext", pki.ca);
  if (!server.ok()) return server.status();
  pki.server = *std::move(server);
  absl::StatusOr<CertificateFiles> client = MakeClientCertificate(directory, "client", "pcusage-test-client", pki.ca);
  if (!client.ok()) return client.status();
  pki.client = *std::move(client);
  absl::StatusOr<CertificateFiles> other_ca = Authority(directory, "other-ca", "pcusage other test CA");
  if (!other_ca.ok()) return other_ca.status();
  pki.other_ca = *std::move(other_ca);
  return pki;
}

absl::StatusOr<CertificateFiles> MakeClientCertificate(const std::string& directory, const std::string& name,
                                                       const std::string& common_name, const CertificateFiles& issuer) {
  if (!IsPlainName(name) || !IsPlainName(common_name)) {
    return absl::InvalidArgumentError(absl::StrCat("use letters, digits, '.', '-' and '_' in the name \"", name,
                                                   "\" and the common name \"", common_name, "\""));
  }
  return Issue(directory, name, common_name, "client_ext", issuer);
}

}  // namespace pcusage::emulator
