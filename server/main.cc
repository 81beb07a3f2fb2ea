// pcusage_server: flags -> configuration -> wiring -> serve.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/auth/access_token_source.h"
#include "server/common/log.h"
#include "server/partner_center/curl_transport.h"
#include "server/partner_center/usage_client.h"
#include "server/resume_token.h"
#include "server/usage_records_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port the gRPC server listens on (plaintext). Port 0 picks a free port; see --port_file.");
ABSL_FLAG(std::string, port_file, "",
          "If set, the port actually bound is written to this file once the server is serving (for supervisors "
          "and tests that listen on port 0).");
ABSL_FLAG(std::string, partner_center_url, "https://api.partnercenter.microsoft.com",
          "Partner Center API root. China (21Vianet): https://partner.partnercenterapi.microsoftonline.cn. "
          "http:// only for a local emulator.");
ABSL_FLAG(std::string, access_token_file, "",
          "File holding a Partner Center App+User access token, re-read whenever it changes. When empty, each "
          "caller's 'authorization: Bearer <token>' metadata is passed through to Partner Center.");
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
ABSL_FLAG(std::string, ca_bundle_file, "",
          "PEM bundle of CAs to verify Partner Center's TLS certificate with, instead of the system's.");

namespace pcusage {
namespace {

constexpr char kServiceName[] = "partnercenter.usage.v1.UsageRecordsService";

bool IsLoopback(absl::string_view listen) {
  return absl::StartsWith(listen, "127.") || absl::StartsWith(listen, "localhost:") ||
         absl::StartsWith(listen, "[::1]:") || absl::StartsWith(listen, "unix:");
}

bool WritePortFile(const std::string& path, int port) {
  const std::string temporary = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream file(temporary, std::ios::trunc);
    file << port << "\n";
    if (!file.flush()) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

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

int Run() {
  std::shared_ptr<auth::AccessTokenSource> tokens;
  const std::string token_file = absl::GetFlag(FLAGS_access_token_file);
  if (token_file.empty()) {
    tokens = std::make_shared<auth::CallerTokenSource>();
  } else {
    absl::StatusOr<std::unique_ptr<auth::FileTokenSource>> file_tokens = auth::FileTokenSource::Create(token_file);
    if (!file_tokens.ok()) {
      LogError("--access_token_file: ", file_tokens.status().message());
      return 2;
    }
    tokens = *std::move(file_tokens);
  }

  const int64_t max_response_bytes = absl::GetFlag(FLAGS_max_response_bytes);
  if (max_response_bytes < 1024) {
    LogError("--max_response_bytes must be at least 1024");
    return 2;
  }
  partner_center::CurlTransportOptions transport_options;
  transport_options.max_response_bytes = static_cast<std::size_t>(max_response_bytes);
  transport_options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  transport_options.ca_bundle_file = absl::GetFlag(FLAGS_ca_bundle_file);
  auto transport = std::make_shared<partner_center::CurlTransport>(transport_options);

  partner_center::UsageClientOptions client_options;
  client_options.base_url = absl::GetFlag(FLAGS_partner_center_url);
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
  UsageRecordsService service(*std::move(client), tokens, *std::move(resume_tokens), max_call_duration);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string listen = absl::GetFlag(FLAGS_listen);
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    LogError("cannot listen on ", listen, " (address in use, or not host:port?)");
    return 1;
  }
  server->GetHealthCheckService()->SetServingStatus(kServiceName, true);
  if (!IsLoopback(listen)) {
    LogWarning("listening on ", listen, " without TLS or caller authentication: anyone who can reach it ",
               token_file.empty() ? "sees callers' Partner Center tokens in transit"
                                  : "can read this partner's billing data with the server's token",
               "; keep it on loopback or behind an authenticating proxy");
  }

  LogInfo("pcusage serving ", kServiceName, " on ", listen.substr(0, listen.rfind(':')), ":", port,
          " (plaintext) -> Partner Center ", client_options.base_url, ", token from ",
          token_file.empty() ? "each caller's authorization metadata" : "--access_token_file");
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty() && !WritePortFile(port_file, port)) {
    LogError("cannot write --port_file ", port_file);
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
      "Usage: pcusage_server [--listen=127.0.0.1:50051] [--partner_center_url=URL] [--access_token_file=PATH]");
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
