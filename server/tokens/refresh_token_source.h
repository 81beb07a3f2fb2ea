// Partner Center access tokens from the OAuth2 refresh-token grant (App+User), the way a partner's own tooling
// gets them: exchanged at the Microsoft identity platform's token endpoint, cached until shortly before they
// expire, refreshed once for all concurrent calls, and with a rotated refresh token written back to its file.
#ifndef PCUSAGE_SERVER_TOKENS_REFRESH_TOKEN_SOURCE_H_
#define PCUSAGE_SERVER_TOKENS_REFRESH_TOKEN_SOURCE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/files.h"
#include "server/common/secrets.h"
#include "server/http/http_transport.h"
#include "server/http/retry_loop.h"
#include "server/http/retry_policy.h"
#include "server/tokens/access_token_source.h"

namespace pcusage::tokens {

struct RefreshTokenOptions {
  // The token endpoint, e.g. https://login.microsoftonline.com/<tenant>/oauth2/token. An endpoint whose path has
  // "/v2.0/" is sent `scope=<resource>/user_impersonation`; any other `resource=<resource>`.
  std::string token_url;
  std::string client_id;
  std::string client_secret;  // empty for a public client
  // Holds the refresh token; read at start, rewritten (atomically, mode 0600) when the endpoint rotates it.
  std::string refresh_token_file;
  std::string resource = "https://api.partnercenter.microsoft.com";
  // A cached token is renewed this long before it expires (at most a quarter of its lifetime).
  absl::Duration refresh_margin = absl::Minutes(5);
  absl::Duration request_timeout = absl::Seconds(30);  // one attempt; the call's deadline may shorten it
  // Retries of a token request that failed for a reason a retry can change (throttling, 5xx, connection failures,
  // time-outs), within the call's deadline.
  http::RetryOptions retry = {/*max_attempts=*/3, /*initial_backoff=*/absl::Milliseconds(250),
                              /*max_backoff=*/absl::Seconds(2), /*backoff_multiplier=*/2.0,
                              /*max_retry_after=*/absl::Seconds(10)};
};

class RefreshTokenSource final : public AccessTokenSource {
 public:
  // Reads the refresh token file; the error says why it cannot be used. No request is made yet. `sleeper` tells the
  // time and waits between retries; real time when null.
  static absl::StatusOr<std::unique_ptr<RefreshTokenSource>> Create(std::shared_ptr<http::HttpTransport> transport,
                                                                    RefreshTokenOptions options,
                                                                    std::shared_ptr<http::Sleeper> sleeper = nullptr);

  // The cached access token, or a new one when it is about to expire; the caller's metadata is ignored.
  // Concurrent calls wait for one refresh. Errors: FAILED_PRECONDITION (REFRESH_TOKEN_INVALID) when the identity
  // platform refuses the refresh token (it must be renewed by signing in again, with MFA), FAILED_PRECONDITION
  // (TOKEN_REQUEST_REJECTED) for other refusals, UNAVAILABLE (TOKEN_ENDPOINT_UNAVAILABLE) when it cannot be reached
  // or answers 5xx or nonsense.
  absl::StatusOr<std::string> TokenForCall(std::optional<absl::string_view> caller_authorization,
                                           absl::Time deadline) override;

  // A new token when `rejected` is still the cached one (else the newer cached one): one forced refresh.
  absl::StatusOr<std::string> TokenAfterRejection(absl::string_view rejected, absl::Time deadline) override;

  // How long a failed refresh is answered from memory before the endpoint is asked again.
  static constexpr absl::Duration kFailureHoldDown = absl::Seconds(5);

  // The largest refresh token file read.
  static constexpr std::size_t kMaxRefreshTokenFileBytes = std::size_t{64} << 10;

  // Token endpoint requests made so far (for tests and logs).
  int64_t refreshes() const;

 private:
  RefreshTokenSource(std::shared_ptr<http::HttpTransport> transport, RefreshTokenOptions options,
                     std::string refresh_token, std::shared_ptr<http::Sleeper> sleeper);

  struct Grant {
    std::string access_token;
    absl::Time renew_at;    // expiry less the refresh margin
    absl::Time expires_at;  // when the token endpoint said it stops working
    std::optional<std::string> rotated_refresh_token;
  };

  // Returns the cached token unless `must_replace` names it or it is stale; otherwise refreshes, or waits (until
  // `deadline`) for the refresh already under way and shares its result. A failed refresh is not repeated for
  // kFailureHoldDown (an invalid_grant: until the refresh token file changes).
  absl::StatusOr<std::string> Token(std::optional<absl::string_view> must_replace, absl::Time deadline);

  // The token this call can use without a refresh of its own (after sharing one under way), an error to share, or
  // nullopt when this call must refresh: refreshing_ is then set.
  absl::StatusOr<std::optional<std::string>> TokenWithoutRefresh(std::optional<absl::string_view> must_replace,
                                                                 absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Takes in the result of this call's refresh: caches the token, writes a rotated refresh token back, or starts
  // holding the failure down.
  absl::Status RecordGrant(absl::StatusOr<Grant> grant) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Makes `token` the refresh token, held as a secret (secrets.h) with the one before it.
  void SetRefreshToken(std::string token) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Re-reads the refresh token file when an external job replaced it.
  void ReloadRefreshTokenIfChanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Asks the token endpoint, retried as options_.retry allows. Called without mu_ held.
  absl::StatusOr<Grant> Exchange(const std::string& refresh_token, absl::Time deadline) const;
  // One request to the token endpoint, classified for the retry loop.
  http::Attempt<Grant> ExchangeOnce(const http::HttpRequest& request) const;
  // Writes the rotated refresh token over the file (atomically, mode 0600); returns the new file's version.
  std::optional<FileVersion> SaveRefreshToken(const std::string& refresh_token) const;

  const std::shared_ptr<http::HttpTransport> transport_;
  const RefreshTokenOptions options_;
  const std::shared_ptr<http::Sleeper> sleeper_;
  const http::RetryPolicy retry_policy_;

  const SecretHold client_secret_hold_;

  mutable absl::Mutex mu_;
  std::string refresh_token_ ABSL_GUARDED_BY(mu_);
  std::string access_token_ ABSL_GUARDED_BY(mu_);
  // The refresh token and the one before it (calls may still be using it), kept out of text.
  SecretHold refresh_token_holds_[2] ABSL_GUARDED_BY(mu_);
  // Every access token this source obtained that has not expired (a token replaced after a 401 still works
  // upstream until then), the newest last, kept out of text; at most kMaxHeldAccessTokens, the oldest let go
  // first, because an upstream answering 401 to every call makes the source renew again and again.
  static constexpr std::size_t kMaxHeldAccessTokens = 32;
  std::deque<std::pair<absl::Time, SecretHold>> access_token_holds_ ABSL_GUARDED_BY(mu_);
  absl::Time renew_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool refreshing_ ABSL_GUARDED_BY(mu_) = false;
  int64_t refreshes_ ABSL_GUARDED_BY(mu_) = 0;     // completed or failed exchanges
  absl::Status last_result_ ABSL_GUARDED_BY(mu_);  // of the latest exchange
  absl::Time retry_after_failure_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::optional<FileVersion> refresh_token_file_version_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pcusage::tokens

#endif  // PCUSAGE_SERVER_TOKENS_REFRESH_TOKEN_SOURCE_H_
