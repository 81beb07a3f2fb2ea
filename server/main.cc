// pcusage_server: flags -> configuration -> wiring -> serve.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/auth/caller_authenticator.h"
#include "server/auth/credentials.h"
#include "server/common/log.h"
#include "server/common/loopback.h"
#include "server/common/port_file.h"
#include "server/partner_center/curl_transport.h"
#include "server/partner_center/usage_client.h"
#include "server/resume_token.h"
#include "server/usage_records_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port the gRPC server listens on (TLS with --tls_cert_file). Port 0 picks a free port; see "
          "--port_file.");
ABSL_FLAG(std::string, port_file, "",
          "If set, the port actually bound is written to this file once the server is serving (for supervisors "
          "and tests that listen on port 0).");
ABSL_FLAG(std::string, cloud, "public",
          "Microsoft cloud: public, usgov or china (21Vianet). Chooses the identity platform and the default "
          "--partner_center_url.");
ABSL_FLAG(std::string, partner_center_url, "",
          "Partner Center API root; empty means the --cloud's (public and usgov: "
          "https://api.partnercenter.microsoft.com). Must be https:// (http:// only on a loopback host).");
ABSL_FLAG(std::string, auth_mode, "",
          "Where Partner Center tokens come from: passthrough (each caller's 'authorization: Bearer' metadata), "
          "static (--access_token_file) or refresh_token (the OAuth2 refresh-token grant: --tenant_id, "
          "--client_id, --refresh_token_file). Empty: static when --access_token_file is set, else passthrough.");
ABSL_FLAG(std::string, access_token_file, "",
          "static: file holding a Partner Center App+User access token, re-read whenever it changes.");
ABSL_FLAG(std::string, tenant_id, "", "refresh_token: the partner's tenant id or domain.");
ABSL_FLAG(std::string, client_id, "", "refresh_token: the application (client) id of the App+User app.");
ABSL_FLAG(std::string, client_secret_file, "",
          "refresh_token: file holding the application's client secret; omit for a public client.");
ABSL_FLAG(std::string, refresh_token_file, "",
          "refresh_token: file holding the refresh token; a rotated one is written back to it (mode 0600).");
ABSL_FLAG(std::string, token_url, "",
          "refresh_token: the token endpoint; empty means <cloud authority>/<tenant_id>/oauth2/token. Must be "
          "https:// (http:// only on a loopback host).");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain for the gRPC listener; with --tls_key_file the listener speaks TLS.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for --tls_cert_file.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CAs whose client certificates the listener requires and verifies (mTLS).");
ABSL_FLAG(std::string, client_allow_list_file, "",
          "With --tls_client_ca_file: client certificate identities (subject CN or a SAN), one a line, let in.");
ABSL_FLAG(std::string, api_keys_file, "",
          "Callers must send one of these API keys as 'x-api-key' metadata. One key a line: '<name> <salt hex> "
          "<sha256 hex of salt + key>' (make lines with pcusage_api_key).");
ABSL_FLAG(bool, insecure, false,
          "Allow listening on a non-loopback address with server-held credentials (static, refresh_token) without "
          "TLS and caller authentication (API keys or an mTLS allow list): anyone who reaches the port then reads "
          "the partner's billing data.");
ABSL_FLAG(std::string, locale, "en-US", "X-Locale sent to Partner Center.");
ABSL_FLAG(std::string, application_name, "pcusage", "MS-PartnerCenter-Application sent to Partner Center.");
ABSL_FLAG(absl::Duration, page_timeout, absl::Minutes(2),
          "Longest wait for one Partner Center page (connect to last byte); a caller's deadline may shorten it.");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(10), "Longest wait to connect to Partner Center.");
ABSL_FLAG(absl::Duration, max_call_duration, absl::Hours(1),
          "Longest a ListUsageRecords call may run when the caller set no (or a later) deadline.");
ABSL_FLAG(int, max_pages, 10000, "Most Partner Center pages one call follows before failing with INTERNAL.");
ABSL_FLAG(int64_t, max_response_bytes, int64_t{64} << 20,
          "Largest Partner Center page body accepted; a larger one fails the call with FAILED_PRECONDITION.");
ABSL_FLAG(int, max_attempts, 5,
          "Attempts per Partner Center page, the first included: 429 (after Retry-After), 500/502/503/504, connection "
          "failures and page time-outs are retried; other errors never are.");
ABSL_FLAG(absl::Duration, initial_backoff, absl::Milliseconds(500),
          "Backoff ceiling after the first failed attempt; doubles per attempt up to --max_backoff (full jitter).");
ABSL_FLAG(absl::Duration, max_backoff, absl::Seconds(30), "Largest backoff between attempts.");
ABSL_FLAG(absl::Duration, max_retry_after, absl::Minutes(2),
          "A throttled page whose Retry-After asks for longer fails at once with RESOURCE_EXHAUSTED and RetryInfo.");
ABSL_FLAG(std::string, resume_token_key_file, "",
          "File holding the secret (at least 32 bytes) that signs resume tokens; servers sharing it accept each "
          "other's tokens. When empty, a random key is made at start, so tokens do not survive a restart.");
ABSL_FLAG(absl::Duration, resume_token_ttl, absl::Hours(1), "How long a resume token stays valid.");
ABSL_FLAG(std::string, proxy, "",
          "HTTP(S) proxy URL for Partner Center and the token endpoint; http_proxy/https_proxy in the environment "
          "are ignored (a proxy sees the bearer tokens).");
ABSL_FLAG(std::string, ca_bundle_file, "",
          "PEM bundle of CAs to verify the TLS certificates of Partner Center and the token endpoint with, instead "
          "of the system's.");

namespace pcusage {
namespace {

constexpr char kServiceName[] = "partnercenter.usage.v1.UsageRecordsService";

absl::StatusOr<std::unique_ptr<ResumeTokenCodec>> MakeResumeTokenCodec() {
  const std::string path = absl::GetFlag(FLAGS_resume_token_key_file);
  absl::StatusOr<std::string> key;
  if (path.empty()) {
    key = ResumeTokenCodec::RandomKey();
  } else {
    std::ifstream file(path, std::ios::binary);
    std::stringstream contents;
    contents << file.rdbuf();
    if (!file) return absl::UnavailableError(absl::StrCat(path, " cannot be read"));
    key = contents.str();
  }
  if (!key.ok()) return key.status();
  return ResumeTokenCodec::Create(*std::move(key), absl::GetFlag(FLAGS_resume_token_ttl));
}

// Secrets in files readable by other users are one `cat` away from leaking: say so at start.
void WarnAboutSecretFilePermissions() {
  const std::pair<const char*, std::string> secret_files[] = {
      {"--access_token_file", absl::GetFlag(FLAGS_access_token_file)},
      {"--refresh_token_file", absl::GetFlag(FLAGS_refresh_token_file)},
      {"--client_secret_file", absl::GetFlag(FLAGS_client_secret_file)},
      {"--resume_token_key_file", absl::GetFlag(FLAGS_resume_token_key_file)},
      {"--tls_key_file", absl::GetFlag(FLAGS_tls_key_file)},
  };
  for (const auto& [flag, path] : secret_files) {
    struct stat info;
    if (path.empty() || stat(path.c_str(), &info) != 0 || (info.st_mode & 077) == 0) continue;
    LogWarning(flag, " ", path, " is readable or writable by other users (mode ",
               absl::StrFormat("%04o", info.st_mode & 07777), "); restrict it to the server's user (chmod 600)");
  }
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  return file ? contents.str() : "";
}

// The listener's transport security and who may call it, from the TLS and caller flags.
struct Listener {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  bool tls = false;
  std::shared_ptr<const auth::CallerAuthenticator> callers;
};

absl::StatusOr<Listener> MakeListener() {
  const std::string cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  const std::string key_file = absl::GetFlag(FLAGS_tls_key_file);
  const std::string client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  const std::string allow_list_file = absl::GetFlag(FLAGS_client_allow_list_file);
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  if (!client_ca_file.empty() && cert_file.empty()) {
    return absl::InvalidArgumentError("--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
  }
  if (!allow_list_file.empty() && client_ca_file.empty()) {
    return absl::InvalidArgumentError("--client_allow_list_file needs --tls_client_ca_file (verified identities)");
  }
  absl::StatusOr<std::unique_ptr<auth::CallerAuthenticator>> callers =
      auth::CallerAuthenticator::Create(absl::GetFlag(FLAGS_api_keys_file), allow_list_file);
  if (!callers.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--api_keys_file/--client_allow_list_file: ", callers.status().message()));
  }
  Listener listener;
  listener.callers = *std::move(callers);
  if (cert_file.empty()) {
    listener.credentials = grpc::InsecureServerCredentials();
    return listener;
  }
  grpc::SslServerCredentialsOptions options(client_ca_file.empty()
                                                ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair{ReadFileOrEmpty(key_file), ReadFileOrEmpty(cert_file)};
  if (pair.private_key.empty() || pair.cert_chain.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file/--tls_key_file cannot be read");
  }
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!client_ca_file.empty()) {
    options.pem_root_certs = ReadFileOrEmpty(client_ca_file);
    if (options.pem_root_certs.empty()) return absl::InvalidArgumentError("--tls_client_ca_file cannot be read");
  }
  listener.credentials = grpc::SslServerCredentials(options);
  listener.tls = true;
  return listener;
}

int Run() {
  WarnAboutSecretFilePermissions();
  absl::StatusOr<auth::Cloud> cloud = auth::CloudPreset(absl::GetFlag(FLAGS_cloud));
  if (!cloud.ok()) {
    LogError(cloud.status().message());
    return 2;
  }
  const std::string listen = absl::GetFlag(FLAGS_listen);

  const int64_t max_response_bytes = absl::GetFlag(FLAGS_max_response_bytes);
  if (max_response_bytes < 1024) {
    LogError("--max_response_bytes must be at least 1024");
    return 2;
  }
  partner_center::CurlTransportOptions transport_options;
  transport_options.max_response_bytes = static_cast<std::size_t>(max_response_bytes);
  transport_options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  transport_options.ca_bundle_file = absl::GetFlag(FLAGS_ca_bundle_file);
  transport_options.proxy = absl::GetFlag(FLAGS_proxy);
  auto transport = std::make_shared<partner_center::CurlTransport>(transport_options);

  auth::CredentialsConfig credentials_config;
  credentials_config.auth_mode = absl::GetFlag(FLAGS_auth_mode);
  credentials_config.access_token_file = absl::GetFlag(FLAGS_access_token_file);
  credentials_config.tenant_id = absl::GetFlag(FLAGS_tenant_id);
  credentials_config.client_id = absl::GetFlag(FLAGS_client_id);
  credentials_config.client_secret_file = absl::GetFlag(FLAGS_client_secret_file);
  credentials_config.refresh_token_file = absl::GetFlag(FLAGS_refresh_token_file);
  credentials_config.token_url = absl::GetFlag(FLAGS_token_url);
  credentials_config.cloud = *cloud;
  absl::StatusOr<auth::Credentials> credentials = auth::MakeCredentials(credentials_config, transport);
  if (!credentials.ok()) {
    LogError(credentials.status().message());
    return 2;
  }
  absl::StatusOr<Listener> listener = MakeListener();
  if (!listener.ok()) {
    LogError(listener.status().message());
    return 2;
  }
  const bool callers_protected = listener->tls && listener->callers->enabled();
  if (credentials->server_holds_credentials() && !IsLoopbackListenAddress(listen) && !callers_protected &&
      !absl::GetFlag(FLAGS_insecure)) {
    LogError("refusing to listen on ", listen,
             ": the server holds Partner Center credentials, so callers must be "
             "authenticated: configure TLS (--tls_cert_file, --tls_key_file) and --api_keys_file or "
             "--tls_client_ca_file with --client_allow_list_file; or listen on loopback; or pass --insecure.");
    return 2;
  }

  partner_center::UsageClientOptions client_options;
  client_options.base_url = absl::GetFlag(FLAGS_partner_center_url);
  if (client_options.base_url.empty()) client_options.base_url = cloud->partner_center_url;
  client_options.locale = absl::GetFlag(FLAGS_locale);
  client_options.application_name = absl::GetFlag(FLAGS_application_name);
  client_options.page_timeout = absl::GetFlag(FLAGS_page_timeout);
  client_options.max_pages = absl::GetFlag(FLAGS_max_pages);
  client_options.retry.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  client_options.retry.initial_backoff = absl::GetFlag(FLAGS_initial_backoff);
  client_options.retry.max_backoff = absl::GetFlag(FLAGS_max_backoff);
  client_options.retry.max_retry_after = absl::GetFlag(FLAGS_max_retry_after);
  absl::StatusOr<std::unique_ptr<partner_center::UsageClient>> client =
      partner_center::UsageClient::Create(transport, client_options);
  if (!client.ok()) {
    LogError("Partner Center client flags: ", client.status().message());
    return 2;
  }

  absl::StatusOr<std::unique_ptr<ResumeTokenCodec>> resume_tokens = MakeResumeTokenCodec();
  if (!resume_tokens.ok()) {
    LogError("--resume_token_key_file/--resume_token_ttl: ", resume_tokens.status().message());
    return 2;
  }

  const absl::Duration max_call_duration = absl::GetFlag(FLAGS_max_call_duration);
  if (max_call_duration <= absl::ZeroDuration()) {
    LogError("--max_call_duration must be positive");
    return 2;
  }
  UsageRecordsService service(*std::move(client), credentials->source, *std::move(resume_tokens), listener->callers,
                              max_call_duration);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, listener->credentials, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    LogError("cannot listen on ", listen, " (address in use, or not host:port?)");
    return 1;
  }
  server->GetHealthCheckService()->SetServingStatus(kServiceName, true);
  if (!IsLoopbackListenAddress(listen) && !callers_protected) {
    LogWarning("listening on ", listen, listener->tls ? " without caller authentication" : " without TLS",
               ": anyone who can reach it ",
               credentials->server_holds_credentials() ? "reads this partner's billing data (--insecure)"
               : listener->tls                         ? "can call it with their own Partner Center tokens"
                                                       : "sees callers' Partner Center tokens in transit",
               "; keep it on loopback or behind an authenticating proxy");
  }

  LogInfo("pcusage serving ", kServiceName, " on ", listen.substr(0, listen.rfind(':')), ":", port,
          listener->tls ? " (TLS" : " (plaintext", listener->callers->enabled() ? ", callers authenticated)" : ")",
          " -> Partner Center ", client_options.base_url, ", tokens from ", credentials->description);
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (absl::Status written = port_file.empty() ? absl::OkStatus() : WritePortFile(port_file, port); !written.ok()) {
    LogError("--port_file: ", written.message());
    server->Shutdown();
    return 1;
  }

  std::thread signal_waiter([&server] {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    LogInfo("received signal ", signal_number, "; draining calls for up to 5s");
    server->GetHealthCheckService()->Shutdown();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  });
  server->Wait();
  signal_waiter.join();
  LogInfo("pcusage stopped");
  return 0;
}

}  // namespace
}  // namespace pcusage

int main(int argc, char** argv) {
  // Block the shutdown signals before any thread starts, so only the waiter thread receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::SetProgramUsageMessage(
      "streams Microsoft Partner Center usage records (GET /v1/customers/usagerecords) over gRPC as "
      "partnercenter.usage.v1.UsageRecordsService/ListUsageRecords.\n"
      "Usage: pcusage_server [--listen=127.0.0.1:50051] [--auth_mode=passthrough|static|refresh_token] ...");
  // absl's --help lists only flags from a file named after the binary; the flags live here.
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) { return absl::EndsWith(file, "server/main.cc"); };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  const std::vector<char*> arguments = absl::ParseCommandLine(argc, argv);
  if (arguments.size() > 1) {
    pcusage::LogError("unexpected arguments after the flags (see --help)");
    return 2;
  }
  return pcusage::Run();
}
