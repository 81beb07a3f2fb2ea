// The token route, POST /{tenant}/oauth2/token and POST /{tenant}/oauth2/v2.0/token for any tenant: the identity
// platform's OAuth2 refresh-token grant as its v1 and v2.0 endpoints answer it. It checks the client and the form,
// accepts only the newest refresh token, issues an access token and rotates the refresh token on every grant, and
// answers as the fault script's next token rule says when there is one.
#ifndef PCUSAGE_TESTS_EMULATOR_TOKEN_ROUTE_H_
#define PCUSAGE_TESTS_EMULATOR_TOKEN_ROUTE_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "tests/emulator/fault_script.h"
#include "tests/emulator/reply.h"

namespace pcusage::emulator {

// The identity platform's token endpoint versions, which differ in a few request and response fields.
enum class TokenVersion { kV1, kV2 };

// The token endpoint `path` names, if it names one.
std::optional<TokenVersion> TokenVersionOf(absl::string_view path);

// The access token a grant issues and the refresh token that replaces the one it used.
struct IssuedTokens {
  std::string access_token;
  std::string refresh_token;
};

class TokenRoute {
 public:
  // The client the endpoint serves and what it issues, as EmulatorOptions describes them.
  struct Settings {
    std::string client_id;
    std::string client_secret;
    absl::Duration token_lifetime;
  };

  // The emulator state the route reads and changes; each call is atomic.
  struct State {
    // Counts a token request and takes the fault script's rule for it (FaultScript::TakeForToken).
    std::function<std::optional<FaultRule>()> count_request;
    // When `used` is the current refresh token: makes `issued.refresh_token` the current one, accepts
    // `issued.access_token` until `expiry`, counts the grant and returns true. Otherwise changes nothing and returns
    // false.
    std::function<bool(const std::string& used, const IssuedTokens& issued, absl::Time expiry)> rotate;
  };

  TokenRoute(Settings settings, State state);

  // The reply to a token request for the endpoint of `version`: a new access token and refresh token, the identity
  // platform's error, or what a fault rule puts in their place. Errors never echo a submitted token or secret.
  Reply Answer(const httplib::Request& request, TokenVersion version) const;

 private:
  // The refresh-token grant: the tokens, or the identity platform's error.
  Reply Grant(const httplib::Request& request, TokenVersion version) const;
  // The error for a request the grant refuses before looking at the refresh token; unset when it passes.
  std::optional<Reply> Refusal(const httplib::Request& request, TokenVersion version) const;
  // The error for a request from another client, or with a client secret where none belongs or without the one that
  // does; unset when the client is the one served.
  std::optional<Reply> ClientRefusal(const httplib::Request& request) const;

  Settings settings_;
  State state_;
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_TOKEN_ROUTE_H_
