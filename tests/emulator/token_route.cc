#include "tests/emulator/token_route.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/content_faults.h"
#include "tests/emulator/error_bodies.h"
#include "tests/emulator/random_ids.h"

namespace pcusage::emulator {
namespace {

Reply IdentityPlatformError(int status, absl::string_view error, int code, absl::string_view description) {
  return Reply{status, kJsonContentType, IdentityPlatformErrorBody(error, code, description)};
}

Reply MissingParameter(absl::string_view name) {
  return IdentityPlatformError(400, "invalid_request", 900144,
                               absl::StrCat("The request body must contain the following parameter: '", name, "'."));
}

// A form field; unset when absent or empty. No error echoes one: any might be a secret sent in the wrong place.
std::optional<std::string> FormField(const httplib::Request& request, const char* name) {
  std::string value = request.get_param_value(name);
  if (value.empty()) return std::nullopt;
  return value;
}

// v1 names the API by "resource", v2.0 by "scope".
const char* AudienceField(TokenVersion version) { return version == TokenVersion::kV1 ? "resource" : "scope"; }

// The grant's answer: `issued` for `audience`, valid for `lifetime` from `now`.
std::string GrantBody(const IssuedTokens& issued, TokenVersion version, const std::string& audience, absl::Time now,
                      absl::Duration lifetime) {
  nlohmann::json body = {
      {"token_type", "Bearer"}, {"access_token", issued.access_token}, {"refresh_token", issued.refresh_token}};
  const int64_t seconds = absl::ToInt64Seconds(lifetime);
  if (version == TokenVersion::kV1) {
    // v1 sends its numbers as strings.
    body["expires_in"] = std::to_string(seconds);
    body["ext_expires_in"] = std::to_string(seconds);
    body["expires_on"] = std::to_string(absl::ToUnixSeconds(now) + seconds);
    body["not_before"] = std::to_string(absl::ToUnixSeconds(now));
    body["resource"] = audience;
    body["scope"] = "user_impersonation";
  } else {
    body["expires_in"] = seconds;
    body["ext_expires_in"] = seconds;
    body["scope"] = audience;
  }
  return body.dump();
}

}  // namespace

std::optional<TokenVersion> TokenVersionOf(absl::string_view path) {
  // "/{tenant}/oauth2/token" splits into "", tenant, "oauth2", "token".
  const std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() < 4 || !parts[0].empty() || parts[1].empty() || parts[2] != "oauth2") return std::nullopt;
  if (parts.size() == 4 && parts[3] == "token") return TokenVersion::kV1;
  if (parts.size() == 5 && parts[3] == "v2.0" && parts[4] == "token") return TokenVersion::kV2;
  return std::nullopt;
}

TokenRoute::TokenRoute(Settings settings, State state) : settings_(std::move(settings)), state_(std::move(state)) {}

Reply TokenRoute::Answer(const httplib::Request& request, TokenVersion version) const {
  std::optional<FaultRule> fault = state_.count_request();
  // These answer in the endpoint's place; the other faults spoil its real answer.
  const bool replaced =
      fault.has_value() && (fault->kind == FaultKind::kHttpStatus || fault->kind == FaultKind::kInvalidJson ||
                            fault->kind == FaultKind::kHtml);
  Reply reply = replaced ? Reply{200, kJsonContentType, ""} : Grant(request, version);
  reply.headers.emplace("Cache-Control", "no-store");
  reply.headers.emplace("Pragma", "no-cache");
  reply.fault = std::move(fault);
  if (reply.fault.has_value()) ApplyContentFault(reply);
  return reply;
}

Reply TokenRoute::Grant(const httplib::Request& request, TokenVersion version) const {
  if (std::optional<Reply> refused = Refusal(request, version)) return *std::move(refused);
  const absl::Time now = absl::Now();
  const IssuedTokens issued{absl::StrCat("emulator-access-", RandomHex(24)),
                            absl::StrCat("emulator-refresh-", RandomHex(24))};
  // Only the newest refresh token is valid: of two requests that race with the same one, only the first succeeds.
  if (!state_.rotate(request.get_param_value("refresh_token"), issued, now + settings_.token_lifetime)) {
    return IdentityPlatformError(400, "invalid_grant", 70008,
                                 "The provided authorization code or refresh token has expired due to inactivity. "
                                 "Send a new interactive authorization request for this user and resource.");
  }
  const std::string audience = request.get_param_value(AudienceField(version));
  return Reply{200, kJsonContentType, GrantBody(issued, version, audience, now, settings_.token_lifetime)};
}

std::optional<Reply> TokenRoute::Refusal(const httplib::Request& request, TokenVersion version) const {
  // The secrets belong in the body; a query string ends up in proxies' logs.
  if (request.target.find('?') != std::string::npos) {
    return IdentityPlatformError(400, "invalid_request", 9002313,
                                 "Invalid request. Request is malformed or invalid: the emulator takes parameters only "
                                 "from the form body, not from the query string.");
  }
  const std::optional<std::string> grant_type = FormField(request, "grant_type");
  if (!grant_type.has_value()) return MissingParameter("grant_type");
  if (*grant_type != "refresh_token") {
    return IdentityPlatformError(400, "invalid_request", 70003,
                                 "The app requested an unsupported grant type; use refresh_token.");
  }
  if (std::optional<Reply> refused = ClientRefusal(request)) return refused;
  if (!FormField(request, "refresh_token").has_value()) return MissingParameter("refresh_token");
  if (!FormField(request, AudienceField(version)).has_value()) return MissingParameter(AudienceField(version));
  // v2.0 rejects v1's "resource".
  if (version == TokenVersion::kV2 && FormField(request, "resource").has_value()) {
    return IdentityPlatformError(400, "invalid_request", 901002, "The 'resource' request parameter is not supported.");
  }
  return std::nullopt;
}

std::optional<Reply> TokenRoute::ClientRefusal(const httplib::Request& request) const {
  const std::optional<std::string> client_id = FormField(request, "client_id");
  if (!client_id.has_value()) return MissingParameter("client_id");
  if (*client_id != settings_.client_id) {
    return IdentityPlatformError(401, "invalid_client", 700016,
                                 "Application with the given identifier was not found in the directory.");
  }
  const std::optional<std::string> client_secret = FormField(request, "client_secret");
  if (settings_.client_secret.empty() && client_secret.has_value()) {
    return IdentityPlatformError(401, "invalid_client", 700025,
                                 "Client is public so neither 'client_assertion' nor 'client_secret' should be "
                                 "presented.");
  }
  if (!settings_.client_secret.empty() && !client_secret.has_value()) {
    return IdentityPlatformError(401, "invalid_client", 7000218,
                                 "The request body must contain the following parameter: 'client_assertion' or "
                                 "'client_secret'.");
  }
  if (!settings_.client_secret.empty() && *client_secret != settings_.client_secret) {
    return IdentityPlatformError(401, "invalid_client", 7000215, "Invalid client secret provided.");
  }
  return std::nullopt;
}

}  // namespace pcusage::emulator
