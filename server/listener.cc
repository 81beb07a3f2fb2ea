#include "server/listener.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <ctime>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "server/callers/watched_files.h"
#include "server/common/files.h"
#include "server/common/log.h"

namespace pcusage {
namespace {

// The largest PEM file read: a certificate chain or a CA bundle.
constexpr std::size_t kMaxPemFileBytes = 1 << 20;

absl::StatusOr<std::string> ReadPem(absl::string_view flags, const std::string& path) {
  absl::StatusOr<std::string> pem = ReadSmallFile(path, kMaxPemFileBytes);
  if (!pem.ok() || pem->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flags, " cannot be read", pem.ok() ? "" : absl::StrCat(": ", pem.status().message())));
  }
  return pem;
}

absl::Status CheckFlagsGoTogether(const ListenerFiles& files) {
  if (files.tls_cert_file.empty() != files.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  if (!files.tls_client_ca_file.empty() && files.tls_cert_file.empty()) {
    return absl::InvalidArgumentError("--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
  }
  if (!files.client_allow_list_file.empty() && files.tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError("--client_allow_list_file needs --tls_client_ca_file (verified identities)");
  }
  if (files.reload_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--listener_reload_interval must not be negative");
  }
  return absl::OkStatus();
}

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;
using PrivateKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
}

// Refuses to prompt for a passphrase: an encrypted key is not one gRPC can use.
int NoPassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user_data*/) { return 0; }

// Every certificate in `pem`, in order.
std::vector<Certificate> ParseCertificates(const std::string& pem) {
  std::vector<Certificate> certificates;
  Bio bio = MemoryBio(pem);
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    certificates.emplace_back(certificate, X509_free);
  }
  ERR_clear_error();  // the end of the input reads as an error
  return certificates;
}

std::string SubjectOf(X509* certificate) {
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  char* text = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &text);  // NOLINT(google-runtime-int): OpenSSL's type
  return size > 0 ? std::string(text, static_cast<std::size_t>(size)) : std::string("(no subject)");
}

std::string NotAfterOf(X509* certificate) {
  std::tm when{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &when) != 1) return "(unreadable)";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromTM(when, absl::UTCTimeZone()), absl::UTCTimeZone());
}

// A C callback of gRPC's: it looks at the files (when due) at the start of each handshake. Only material that passed
// ReadTlsMaterial is handed over, so a bad new file never reaches gRPC (which, given PEM it cannot use, would keep
// the handshaker it has too, but say less about why).
class ReloadingTlsCredentials final : public grpc::ServerCredentials {
 public:
  ReloadingTlsCredentials(std::unique_ptr<callers::WatchedFiles<TlsMaterial>> material, bool mutual)
      : material_(std::move(material)),
        credentials_(grpc_ssl_server_credentials_create_with_options(
            grpc_ssl_server_credentials_create_options_using_config_fetcher(
                mutual ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                       : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
                &ReloadingTlsCredentials::Fetch, this))) {}
  ~ReloadingTlsCredentials() override { grpc_server_credentials_release(credentials_); }
  ReloadingTlsCredentials(const ReloadingTlsCredentials&) = delete;
  ReloadingTlsCredentials& operator=(const ReloadingTlsCredentials&) = delete;

  // pcusage authenticates callers at its own edge (callers/call_gate.h); a processor here would be a second path.
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>& /*processor*/) override {
    LogError("ReloadingTlsCredentials does not take an AuthMetadataProcessor");
    std::abort();
  }

 private:
  int AddPortToServer(const std::string& address, grpc_server* server) override {
    return grpc_server_add_http2_port(server, address.c_str(), credentials_);
  }

  static grpc_ssl_certificate_config_reload_status Fetch(void* user_data, grpc_ssl_server_certificate_config** config) {
    auto* self = static_cast<ReloadingTlsCredentials*>(user_data);
    std::shared_ptr<const TlsMaterial> current = self->material_->Current();
    absl::MutexLock lock(&self->mu_);
    if (current == self->handed_over_) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
    grpc_ssl_pem_key_cert_pair pair = {current->private_key.c_str(), current->certificate_chain.c_str()};
    // gRPC 1.51 asserts that a fetched config has root certificates even when no client certificate is asked for
    // (ssl_security_connector.cc); they are used only to verify client certificates, so without mTLS the server's
    // own chain stands in.
    const std::string& roots = current->client_ca.empty() ? current->certificate_chain : current->client_ca;
    *config = grpc_ssl_server_certificate_config_create(roots.c_str(), &pair, 1);
    self->handed_over_ = std::move(current);
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
  }

  const std::unique_ptr<callers::WatchedFiles<TlsMaterial>> material_;
  absl::Mutex mu_;
  std::shared_ptr<const TlsMaterial> handed_over_ ABSL_GUARDED_BY(mu_);  // what gRPC's handshaker was made of
  grpc_server_credentials* const credentials_;
};

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(const ListenerFiles& files) {
  std::vector<std::string> paths = {files.tls_key_file, files.tls_cert_file};
  if (!files.tls_client_ca_file.empty()) paths.push_back(files.tls_client_ca_file);
  absl::StatusOr<std::unique_ptr<callers::WatchedFiles<TlsMaterial>>> material =
      callers::WatchedFiles<TlsMaterial>::Create(
          absl::StrCat("TLS files (--tls_cert_file ", files.tls_cert_file, ", --tls_key_file ", files.tls_key_file,
                       files.tls_client_ca_file.empty() ? "" : ", --tls_client_ca_file ", files.tls_client_ca_file,
                       ")"),
          paths, files.reload_interval,
          [files]() -> absl::StatusOr<std::shared_ptr<const TlsMaterial>> {
            absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(files);
            if (!material.ok()) return material.status();
            return std::make_shared<const TlsMaterial>(*std::move(material));
          },
          [](const TlsMaterial& in_force) { return in_force.description; });
  if (!material.ok()) return material.status();
  return std::make_shared<ReloadingTlsCredentials>(*std::move(material), !files.tls_client_ca_file.empty());
}

}  // namespace

absl::StatusOr<TlsMaterial> ReadTlsMaterial(const ListenerFiles& files) {
  TlsMaterial material;
  absl::StatusOr<std::string> key = ReadPem("--tls_cert_file/--tls_key_file", files.tls_key_file);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> chain = ReadPem("--tls_cert_file/--tls_key_file", files.tls_cert_file);
  if (!chain.ok()) return chain.status();
  Bio key_bio = MemoryBio(*key);
  PrivateKey private_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr), EVP_PKEY_free);
  ERR_clear_error();
  if (private_key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key_file ", files.tls_key_file, " holds no PEM private key (an unencrypted one)"));
  }
  std::vector<Certificate> certificates = ParseCertificates(*chain);
  if (certificates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert_file ", files.tls_cert_file, " holds no PEM certificate"));
  }
  X509* leaf = certificates.front().get();
  if (X509_check_private_key(leaf, private_key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("--tls_key_file ", files.tls_key_file,
                                                   " is not the key of the certificate in --tls_cert_file ",
                                                   files.tls_cert_file));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert_file ", files.tls_cert_file, ": the certificate expired at ", NotAfterOf(leaf)));
  }
  material.description = absl::StrCat("certificate ", SubjectOf(leaf), " valid until ", NotAfterOf(leaf));
  material.private_key = *std::move(key);
  material.certificate_chain = *std::move(chain);
  if (!files.tls_client_ca_file.empty()) {
    absl::StatusOr<std::string> client_ca = ReadPem("--tls_client_ca_file", files.tls_client_ca_file);
    if (!client_ca.ok()) return client_ca.status();
    if (ParseCertificates(*client_ca).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls_client_ca_file ", files.tls_client_ca_file, " holds no PEM certificate"));
    }
    material.client_ca = *std::move(client_ca);
    absl::StrAppend(&material.description, ", client CA ", files.tls_client_ca_file);
  }
  return material;
}

absl::StatusOr<Listener> MakeListener(const ListenerFiles& files) {
  if (absl::Status status = CheckFlagsGoTogether(files); !status.ok()) return status;
  absl::StatusOr<std::unique_ptr<callers::CallerAuthenticator>> callers =
      callers::CallerAuthenticator::Create(files.api_keys_file, files.client_allow_list_file, files.reload_interval);
  if (!callers.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--api_keys_file/--client_allow_list_file: ", callers.status().message()));
  }
  Listener listener;
  listener.callers = *std::move(callers);
  if (files.tls_cert_file.empty()) {
    listener.credentials = grpc::InsecureServerCredentials();
    return listener;
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tls = TlsCredentials(files);
  if (!tls.ok()) return tls.status();
  listener.credentials = *std::move(tls);
  listener.tls = true;
  return listener;
}

absl::Status CheckListenerPolicy(const ListenerExposure& exposure, absl::string_view listen) {
  const bool callers_protected = exposure.tls && exposure.callers_authenticated;
  if (!exposure.server_holds_credentials || exposure.loopback || callers_protected || exposure.insecure) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("refusing to listen on ", listen,
                   ": the server holds Partner Center credentials, so callers must be "
                   "authenticated: configure TLS (--tls_cert_file, --tls_key_file) and --api_keys_file or "
                   "--tls_client_ca_file with --client_allow_list_file; or listen on loopback; or pass --insecure."));
}

std::optional<std::string> ListenerWarning(const ListenerExposure& exposure, absl::string_view listen) {
  if (exposure.loopback || (exposure.tls && exposure.callers_authenticated)) return std::nullopt;
  const char* exposed = exposure.server_holds_credentials ? "reads this partner's billing data (--insecure)"
                        : exposure.tls                    ? "can call it with their own Partner Center tokens"
                                                          : "sees callers' Partner Center tokens in transit";
  return absl::StrCat("listening on ", listen, exposure.tls ? " without caller authentication" : " without TLS",
                      ": anyone who can reach it ", exposed, "; keep it on loopback or behind an authenticating proxy");
}

}  // namespace pcusage
