#include "server/tokens/refresh_token_source.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "server/common/form_encoding.h"
#include "server/common/log.h"
#include "server/common/printable.h"
#include "server/http/http_status.h"
#include "server/metrics/pcusage_metrics.h"

namespace pcusage::tokens {
namespace {

absl::Status Unavailable(const std::string& message) {
  return WithErrorInfo(absl::UnavailableError(message), reason::kTokenEndpointUnavailable);
}

std::string JsonText(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// The first line of an identity platform error_description, which goes on with trace ids.
std::string FirstLine(const std::string& text) { return Printable(text.substr(0, text.find_first_of("\r\n")), 300); }

// What a caller waiting for another caller's refresh waits on: the count of finished refreshes to change.
struct RefreshWait {
  const int64_t* refreshes;
  int64_t seen;
  static bool Done(RefreshWait* wait) { return *wait->refreshes != wait->seen; }
};

// A refresh token as read from its file: one token, surrounding whitespace ignored.
absl::StatusOr<std::string> ReadRefreshToken(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadSmallFile(path, RefreshTokenSource::kMaxRefreshTokenFileBytes);
  if (!contents.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("refresh token file: ", contents.status().message()));
  }
  std::string token(absl::StripAsciiWhitespace(*contents));
  if (!IsBearerTokenText(token)) {
    return absl::InvalidArgumentError(
        absl::StrCat("refresh token file ", path, " must hold one token, without spaces or line breaks inside"));
  }
  return token;
}

// A failed token request, as the retry loop needs it.
struct TokenFailure {
  absl::Status status;
  http::FailureKind retry = http::FailureKind::kPermanent;
  std::optional<absl::Duration> retry_after;
};

// What a non-200 answer of the token endpoint means: UNAVAILABLE when a retry can help or the answer makes no
// sense (http_status.h decides which statuses are retried), FAILED_PRECONDITION when the endpoint refused.
TokenFailure TokenEndpointRefusal(const std::string& where, const http::HttpResponse& response, absl::Time now) {
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  const std::string error = body.is_object() ? Printable(JsonText(body, "error"), 64) : "";
  const std::string description = body.is_object() ? FirstLine(JsonText(body, "error_description")) : "";
  LogWarning(where, " answered HTTP ", response.status_code, " ", error, ": ", description);
  const http::FailureKind retry = http::HttpStatusPolicyFor(response.status_code).retry;
  if (retry != http::FailureKind::kPermanent || response.status_code >= 500 || response.status_code < 400) {
    absl::Status unavailable = Unavailable(absl::StrCat(where, " answered HTTP ", response.status_code));
    std::optional<absl::Duration> retry_after;
    if (std::optional<std::string> header = response.Header("retry-after")) {
      retry_after = http::ParseRetryAfterHeader(*header, now);
    }
    if (retry_after.has_value()) unavailable = WithRetryInfo(unavailable, *retry_after);
    return {std::move(unavailable), retry, retry_after};
  }
  if (error == "invalid_grant") {
    return {WithErrorInfo(absl::FailedPreconditionError(absl::StrCat(
                              "the identity platform refused the refresh token (invalid_grant: ", description,
                              "); it must be renewed: sign in again as an App+User (MFA is enforced) and put the new "
                              "refresh token in --refresh_token_file")),
                          reason::kRefreshTokenInvalid),
            http::FailureKind::kPermanent, std::nullopt};
  }
  return {WithErrorInfo(
              absl::FailedPreconditionError(absl::StrCat(where, " refused the request (HTTP ", response.status_code,
                                                         " ", error, ": ", description, ")")),
              reason::kTokenRequestRejected),
          http::FailureKind::kPermanent, std::nullopt};
}

// What a transport failure means for a retry.
http::FailureKind TransportFailureKind(const absl::Status& error) {
  switch (error.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return http::FailureKind::kTimeout;
    case absl::StatusCode::kUnavailable:
      return http::FailureKind::kConnection;
    default:
      return http::FailureKind::kPermanent;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<RefreshTokenSource>> RefreshTokenSource::Create(
    std::shared_ptr<http::HttpTransport> transport, RefreshTokenOptions options,
    std::shared_ptr<http::Sleeper> sleeper) {
  if (options.token_url.empty() || options.client_id.empty()) {
    return absl::InvalidArgumentError("a token endpoint and a client id are needed");
  }
  absl::StatusOr<std::string> refresh_token = ReadRefreshToken(options.refresh_token_file);
  if (!refresh_token.ok()) return refresh_token.status();
  if (sleeper == nullptr) sleeper = std::make_shared<http::RealSleeper>();
  return std::unique_ptr<RefreshTokenSource>(
      new RefreshTokenSource(std::move(transport), std::move(options), *std::move(refresh_token), std::move(sleeper)));
}

RefreshTokenSource::RefreshTokenSource(std::shared_ptr<http::HttpTransport> transport, RefreshTokenOptions options,
                                       std::string refresh_token, std::shared_ptr<http::Sleeper> sleeper)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      sleeper_(std::move(sleeper)),
      retry_policy_(options_.retry),
      client_secret_hold_(HoldSecret(options_.client_secret)) {
  absl::MutexLock lock(&mu_);
  SetRefreshToken(std::move(refresh_token));
}

void RefreshTokenSource::SetRefreshToken(std::string token) {
  refresh_token_holds_[1] = std::move(refresh_token_holds_[0]);
  refresh_token_holds_[0] = HoldSecret(token);
  refresh_token_ = std::move(token);
}

absl::StatusOr<std::string> RefreshTokenSource::TokenForCall(std::optional<absl::string_view>, absl::Time deadline) {
  return Token(std::nullopt, deadline);
}

absl::StatusOr<std::string> RefreshTokenSource::TokenAfterRejection(absl::string_view rejected, absl::Time deadline) {
  return Token(rejected, deadline);
}

int64_t RefreshTokenSource::refreshes() const {
  absl::MutexLock lock(&mu_);
  return refreshes_;
}

void RefreshTokenSource::ReloadRefreshTokenIfChanged() {
  const std::optional<FileVersion> version = FileVersion::Of(options_.refresh_token_file);
  if (!version.has_value() || version == refresh_token_file_version_) return;
  absl::StatusOr<std::string> token = ReadRefreshToken(options_.refresh_token_file);
  if (!token.ok()) return;  // a half-written file: keep what we have, look again next time
  refresh_token_file_version_ = version;
  if (*token == refresh_token_) return;
  LogInfo("refresh token file ", options_.refresh_token_file, " changed; using the new refresh token");
  SetRefreshToken(*std::move(token));
  retry_after_failure_ = absl::InfinitePast();  // a refused token may have been replaced
}

absl::StatusOr<std::string> RefreshTokenSource::Token(std::optional<absl::string_view> must_replace,
                                                      absl::Time deadline) {
  for (;;) {
    std::string refresh_token;
    {
      absl::MutexLock lock(&mu_);
      absl::StatusOr<std::optional<std::string>> ready = TokenWithoutRefresh(must_replace, deadline);
      if (!ready.ok()) return ready.status();
      if (ready->has_value()) return **std::move(ready);
      refresh_token = refresh_token_;
    }
    absl::StatusOr<Grant> grant = Exchange(refresh_token, deadline);
    absl::MutexLock lock(&mu_);
    if (absl::Status recorded = RecordGrant(std::move(grant)); !recorded.ok()) return recorded;
    if (must_replace.has_value() && access_token_ == *must_replace) return access_token_;  // the endpoint's choice
  }
}

absl::StatusOr<std::optional<std::string>> RefreshTokenSource::TokenWithoutRefresh(
    std::optional<absl::string_view> must_replace, absl::Time deadline) {
  for (;;) {
    if (!access_token_.empty() && sleeper_->Now() < renew_at_ &&
        (!must_replace.has_value() || access_token_ != *must_replace)) {
      return std::optional<std::string>(access_token_);
    }
    if (!refreshing_) break;
    // Share the refresh under way: its result, good or bad, is this call's.
    RefreshWait wait{&refreshes_, refreshes_};
    if (!mu_.AwaitWithDeadline(absl::Condition(&RefreshWait::Done, &wait), deadline)) {
      return WithErrorInfo(
          absl::DeadlineExceededError("the call's deadline passed while the access token was being refreshed"),
          reason::kDeadlineExceeded);
    }
    if (!last_result_.ok()) return last_result_;
  }
  ReloadRefreshTokenIfChanged();
  if (!last_result_.ok() && sleeper_->Now() < retry_after_failure_) {
    return last_result_;  // do not hammer the identity platform with a request it just refused
  }
  refreshing_ = true;
  return std::nullopt;
}

absl::Status RefreshTokenSource::RecordGrant(absl::StatusOr<Grant> grant) {
  refreshing_ = false;
  ++refreshes_;
  metrics::TokenRefresh(grant.ok());
  last_result_ = grant.status();
  if (!grant.ok()) {
    const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(grant.status());
    retry_after_failure_ = info.has_value() && info->reason() == reason::kRefreshTokenInvalid
                               ? absl::InfiniteFuture()  // until the file changes
                               : sleeper_->Now() + kFailureHoldDown;
    return grant.status();
  }
  const absl::Time now = sleeper_->Now();
  while (!access_token_holds_.empty() &&
         (access_token_holds_.front().first <= now || access_token_holds_.size() >= kMaxHeldAccessTokens)) {
    access_token_holds_.pop_front();
  }
  access_token_holds_.emplace_back(grant->expires_at, HoldSecret(grant->access_token));
  access_token_ = grant->access_token;
  renew_at_ = grant->renew_at;
  if (grant->rotated_refresh_token.has_value() && *grant->rotated_refresh_token != refresh_token_) {
    SetRefreshToken(*grant->rotated_refresh_token);
    if (std::optional<FileVersion> saved = SaveRefreshToken(refresh_token_)) refresh_token_file_version_ = saved;
  }
  return absl::OkStatus();
}

absl::StatusOr<RefreshTokenSource::Grant> RefreshTokenSource::Exchange(const std::string& refresh_token,
                                                                       absl::Time deadline) const {
  http::HttpRequest request;
  request.method = "POST";
  request.url = options_.token_url;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  request.body = absl::StrCat("grant_type=refresh_token&client_id=", FormEncode(options_.client_id),
                              "&refresh_token=", FormEncode(refresh_token));
  if (!options_.client_secret.empty()) {
    absl::StrAppend(&request.body, "&client_secret=", FormEncode(options_.client_secret));
  }
  if (absl::StrContains(options_.token_url, "/v2.0/")) {
    absl::StrAppend(&request.body, "&scope=", FormEncode(absl::StrCat(options_.resource, "/user_impersonation")));
  } else {
    absl::StrAppend(&request.body, "&resource=", FormEncode(options_.resource));
  }
  http::RetryScope scope;
  scope.what = "the access token";
  scope.trace = absl::StrCat("token endpoint ", http::RedactedUrl(options_.token_url));
  return http::RetryLoop<Grant>(retry_policy_, *sleeper_, http::CallBounds{deadline, nullptr}, scope,
                                [this, &request](int, absl::Duration time_left) {
                                  request.timeout = std::min(options_.request_timeout, time_left);
                                  return ExchangeOnce(request);
                                });
}

http::Attempt<RefreshTokenSource::Grant> RefreshTokenSource::ExchangeOnce(const http::HttpRequest& request) const {
  const std::string where = absl::StrCat("token endpoint ", http::RedactedUrl(options_.token_url));
  const absl::Time started = sleeper_->Now();
  absl::StatusOr<http::HttpResponse> response = transport_->Send(request);
  if (!response.ok()) {
    LogWarning(where, " failed: ", response.status().message());
    return {Unavailable(absl::StrCat(where, " cannot be reached: ", response.status().message())),
            TransportFailureKind(response.status())};
  }
  if (response->status_code != 200) {
    TokenFailure refusal = TokenEndpointRefusal(where, *response, sleeper_->Now());
    return {std::move(refusal.status), refusal.retry, refusal.retry_after};
  }
  const nlohmann::json body = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  Grant grant;
  grant.access_token = body.is_object() ? JsonText(body, "access_token") : "";
  int64_t expires_in = 0;
  if (auto it = body.is_object() ? body.find("expires_in") : body.end(); it != body.end()) {
    if (it->is_number_integer()) expires_in = it->get<int64_t>();
    if (it->is_string() && !absl::SimpleAtoi(it->get<std::string>(), &expires_in)) expires_in = 0;
  }
  if (!IsBearerTokenText(grant.access_token) || expires_in <= 0) {
    return {Unavailable(absl::StrCat(where, " answered without a usable access_token and expires_in"))};
  }
  const absl::Duration lifetime = absl::Seconds(expires_in);
  grant.renew_at = started + lifetime - std::min(options_.refresh_margin, lifetime / 4);
  grant.expires_at = started + lifetime;
  if (std::string rotated = JsonText(body, "refresh_token"); IsBearerTokenText(rotated)) {
    grant.rotated_refresh_token = std::move(rotated);
  }
  LogInfo(where, ": new access token, valid for ", expires_in, "s",
          grant.rotated_refresh_token.has_value() ? "; refresh token rotated" : "");
  return {std::move(grant)};
}

std::optional<FileVersion> RefreshTokenSource::SaveRefreshToken(const std::string& refresh_token) const {
  const std::string& path = options_.refresh_token_file;
  if (absl::Status saved = AtomicWrite(path, refresh_token + "\n", 0600); !saved.ok()) {
    LogError("cannot save the rotated refresh token (", saved.message(),
             "); it is kept in memory only and will be lost on restart");
    return std::nullopt;
  }
  return FileVersion::Of(path);
}

}  // namespace pcusage::tokens
