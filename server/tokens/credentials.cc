#include "server/tokens/credentials.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/files.h"
#include "server/common/loopback.h"
#include "server/tokens/refresh_token_source.h"

namespace pcusage::tokens {
namespace {

absl::Status Invalid(absl::string_view flag, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", problem));
}

// The flags of one mode that another mode must not be given, so a mistyped mode is not silently ignored.
absl::Status RejectFlags(const CredentialsConfig& config, absl::string_view mode, bool refresh_flags,
                         bool static_flags) {
  if (refresh_flags && (!config.tenant_id.empty() || !config.client_id.empty() || !config.client_secret_file.empty() ||
                        !config.refresh_token_file.empty() || !config.token_url.empty())) {
    return Invalid("auth_mode", absl::StrCat(mode, " takes no --tenant_id, --client_id, --client_secret_file, ",
                                             "--refresh_token_file or --token_url"));
  }
  if (static_flags && !config.access_token_file.empty()) {
    return Invalid("auth_mode", absl::StrCat(mode, " takes no --access_token_file"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadSecretFile(absl::string_view flag, const std::string& path) {
  constexpr std::size_t kMaxSecretBytes = std::size_t{64} << 10;
  absl::StatusOr<std::string> contents = ReadSmallFile(path, kMaxSecretBytes);
  if (!contents.ok()) return Invalid(flag, contents.status().message());
  std::string secret(absl::StripAsciiWhitespace(*contents));
  if (secret.empty()) return Invalid(flag, absl::StrCat(path, " is empty"));
  return secret;
}

}  // namespace

absl::StatusOr<Cloud> CloudPreset(absl::string_view name) {
  if (name == "public") {
    return Cloud{"https://login.microsoftonline.com", "https://api.partnercenter.microsoft.com",
                 "https://api.partnercenter.microsoft.com"};
  }
  if (name == "usgov") {
    return Cloud{"https://login.microsoftonline.us", "https://api.partnercenter.microsoft.com",
                 "https://api.partnercenter.microsoft.com"};
  }
  if (name == "china") {
    return Cloud{"https://login.chinacloudapi.cn", "https://partner.partnercenterapi.microsoftonline.cn",
                 "https://partner.partnercenterapi.microsoftonline.cn"};
  }
  return Invalid("cloud", absl::StrCat("\"", name, "\" is not public, usgov or china"));
}

namespace {

absl::StatusOr<Credentials> StaticCredentials(const CredentialsConfig& config) {
  if (absl::Status status = RejectFlags(config, "static", true, false); !status.ok()) return status;
  if (config.access_token_file.empty()) return Invalid("access_token_file", "is required with --auth_mode=static");
  absl::StatusOr<std::unique_ptr<FileTokenSource>> source = FileTokenSource::Create(config.access_token_file);
  if (!source.ok()) return Invalid("access_token_file", source.status().message());
  Credentials credentials;
  credentials.mode = Credentials::Mode::kStatic;
  credentials.source = *std::move(source);
  credentials.description = absl::StrCat("the token in ", config.access_token_file);
  return credentials;
}

// The token endpoint: --token_url, else the cloud's authority for --tenant_id; https:// only off loopback.
absl::StatusOr<std::string> TokenUrl(const CredentialsConfig& config) {
  std::string token_url = config.token_url;
  if (token_url.empty()) {
    if (config.tenant_id.empty()) return Invalid("tenant_id", "is required with --auth_mode=refresh_token");
    if (!std::all_of(config.tenant_id.begin(), config.tenant_id.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
        })) {
      return Invalid("tenant_id", "must be a tenant id (GUID) or domain name");
    }
    token_url = absl::StrCat(config.cloud.authority, "/", config.tenant_id, "/oauth2/token");
  }
  if (!absl::StartsWith(token_url, "https://") &&
      !(absl::StartsWith(token_url, "http://") && IsLoopbackUrl(token_url))) {
    return Invalid("token_url", "must be https:// (http:// only on a loopback host)");
  }
  return token_url;
}

absl::StatusOr<Credentials> RefreshTokenCredentials(const CredentialsConfig& config,
                                                    std::shared_ptr<http::HttpTransport> transport) {
  if (absl::Status status = RejectFlags(config, "refresh_token", false, true); !status.ok()) return status;
  if (config.client_id.empty()) return Invalid("client_id", "is required with --auth_mode=refresh_token");
  if (config.refresh_token_file.empty()) {
    return Invalid("refresh_token_file", "is required with --auth_mode=refresh_token");
  }
  RefreshTokenOptions options;
  absl::StatusOr<std::string> token_url = TokenUrl(config);
  if (!token_url.ok()) return token_url.status();
  options.token_url = *std::move(token_url);
  options.client_id = config.client_id;
  if (!config.client_secret_file.empty()) {
    absl::StatusOr<std::string> secret = ReadSecretFile("client_secret_file", config.client_secret_file);
    if (!secret.ok()) return secret.status();
    options.client_secret = *std::move(secret);
  }
  options.refresh_token_file = config.refresh_token_file;
  options.resource = config.cloud.resource;
  absl::StatusOr<std::unique_ptr<RefreshTokenSource>> source =
      RefreshTokenSource::Create(std::move(transport), options);
  if (!source.ok()) return Invalid("refresh_token_file", source.status().message());
  Credentials credentials;
  credentials.mode = Credentials::Mode::kRefreshToken;
  credentials.source = *std::move(source);
  credentials.description = absl::StrCat("the refresh-token grant at ", http::RedactedUrl(options.token_url));
  return credentials;
}

}  // namespace

absl::StatusOr<Credentials> MakeCredentials(const CredentialsConfig& config,
                                            std::shared_ptr<http::HttpTransport> transport) {
  std::string mode = config.auth_mode;
  if (mode.empty()) mode = config.access_token_file.empty() ? "passthrough" : "static";
  if (mode == "passthrough") {
    if (absl::Status status = RejectFlags(config, mode, true, true); !status.ok()) return status;
    Credentials credentials;
    credentials.mode = Credentials::Mode::kPassthrough;
    credentials.source = std::make_shared<CallerTokenSource>();
    credentials.description = "each caller's authorization metadata";
    return credentials;
  }
  if (mode == "static") return StaticCredentials(config);
  if (mode == "refresh_token") return RefreshTokenCredentials(config, std::move(transport));
  return Invalid("auth_mode", absl::StrCat("\"", mode, "\" is not passthrough, static or refresh_token"));
}

}  // namespace pcusage::tokens
