#include "server/listener.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "server/common/files.h"

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
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(const ListenerFiles& files) {
  grpc::SslServerCredentialsOptions options(files.tls_client_ca_file.empty()
                                                ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  absl::StatusOr<std::string> key = ReadPem("--tls_cert_file/--tls_key_file", files.tls_key_file);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> chain = ReadPem("--tls_cert_file/--tls_key_file", files.tls_cert_file);
  if (!chain.ok()) return chain.status();
  options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(chain)});
  if (!files.tls_client_ca_file.empty()) {
    absl::StatusOr<std::string> client_ca = ReadPem("--tls_client_ca_file", files.tls_client_ca_file);
    if (!client_ca.ok()) return client_ca.status();
    options.pem_root_certs = *std::move(client_ca);
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace

absl::StatusOr<Listener> MakeListener(const ListenerFiles& files) {
  if (absl::Status status = CheckFlagsGoTogether(files); !status.ok()) return status;
  absl::StatusOr<std::unique_ptr<callers::CallerAuthenticator>> callers =
      callers::CallerAuthenticator::Create(files.api_keys_file, files.client_allow_list_file);
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
