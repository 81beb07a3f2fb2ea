// How the server gets Partner Center credentials (--auth_mode and the flags around it), turned into the
// AccessTokenSource the service asks: the caller's token passed through, a token file, or the OAuth2
// refresh-token grant against the Microsoft identity platform of the chosen cloud.
#ifndef PCUSAGE_SERVER_TOKENS_CREDENTIALS_H_
#define PCUSAGE_SERVER_TOKENS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/http/http_transport.h"
#include "server/tokens/access_token_source.h"

namespace pcusage::tokens {

// A Microsoft cloud's endpoints for Partner Center.
struct Cloud {
  std::string authority;           // identity platform, e.g. https://login.microsoftonline.com
  std::string partner_center_url;  // API root
  std::string resource;            // what tokens are requested for
};

// "public", "usgov" or "china"; INVALID_ARGUMENT otherwise.
absl::StatusOr<Cloud> CloudPreset(absl::string_view name);

struct CredentialsConfig {
  // "passthrough", "static" or "refresh_token"; empty means static when access_token_file is set, else
  // passthrough.
  std::string auth_mode;
  std::string access_token_file;   // static
  std::string tenant_id;           // refresh_token: the partner's tenant (id or domain)
  std::string client_id;           // refresh_token: the App+User application
  std::string client_secret_file;  // refresh_token: optional, for confidential clients
  std::string refresh_token_file;  // refresh_token: read, and rewritten when rotated
  std::string token_url;           // refresh_token: overrides <authority>/<tenant>/oauth2/token
  Cloud cloud;
};

struct Credentials {
  enum class Mode { kPassthrough, kStatic, kRefreshToken };
  Mode mode = Mode::kPassthrough;
  std::shared_ptr<AccessTokenSource> source;
  // Where tokens come from, for the start-up log line (never a secret).
  std::string description;
  // Whether the server holds credentials of its own (then callers must be authenticated).
  bool server_holds_credentials() const { return mode != Mode::kPassthrough; }
};

// INVALID_ARGUMENT naming the flag when the configuration is incomplete, contradictory or unusable (a missing
// file, an http:// token endpoint off loopback, ...). Reads the files; makes no request.
absl::StatusOr<Credentials> MakeCredentials(const CredentialsConfig& config,
                                            std::shared_ptr<http::HttpTransport> transport);

}  // namespace pcusage::tokens

#endif  // PCUSAGE_SERVER_TOKENS_CREDENTIALS_H_
