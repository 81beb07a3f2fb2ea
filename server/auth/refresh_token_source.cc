#include "server/auth/refresh_token_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/common/printable.h"
#include "server/partner_center/retry_policy.h"

namespace pcusage::auth {
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

}  // namespace

std::string FormEncode(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : value) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded.push_back('%');
      encoded.push_back(kHex[c >> 4]);
      encoded.push_back(kHex[c & 0x0F]);
    }
  }
  return encoded;
}

absl::StatusOr<std::unique_ptr<RefreshTokenSource>> RefreshTokenSource::Create(
    std::shared_ptr<partner_center::HttpTransport> transport, RefreshTokenOptions options,
    std::function<absl::Time()> now) {
  if (options.token_url.empty() || options.client_id.empty()) {
    return absl::InvalidArgumentError("a token endpoint and a client id are needed");
  }
  std::ifstream file(options.refresh_token_file, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("refresh token file ", options.refresh_token_file, " cannot be read"));
  }
  std::string refresh_token(absl::StripAsciiWhitespace(contents.str()));
  if (!IsBearerTokenText(refresh_token)) {
    return absl::InvalidArgumentError(absl::StrCat("refresh token file ", options.refresh_token_file,
                                                   " must hold one token, without spaces or line breaks inside"));
  }
  if (!now) now = [] { return absl::Now(); };
  return std::unique_ptr<RefreshTokenSource>(
      new RefreshTokenSource(std::move(transport), std::move(options), std::move(refresh_token), std::move(now)));
}

RefreshTokenSource::RefreshTokenSource(std::shared_ptr<partner_center::HttpTransport> transport,
                                       RefreshTokenOptions options, std::string refresh_token,
                                       std::function<absl::Time()> now)
    : transport_(std::move(transport)), options_(std::move(options)), now_(std::move(now)) {
  absl::MutexLock lock(&mu_);
  refresh_token_ = std::move(refresh_token);
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
  std::ifstream file(options_.refresh_token_file, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  std::string token(absl::StripAsciiWhitespace(contents.str()));
  if (!file || !IsBearerTokenText(token)) return;  // a half-written file: keep what we have, look again next time
  refresh_token_file_version_ = version;
  if (token == refresh_token_) return;
  LogInfo("refresh token file ", options_.refresh_token_file, " changed; using the new refresh token");
  refresh_token_ = std::move(token);
  retry_after_failure_ = absl::InfinitePast();  // a refused token may have been replaced
}

absl::StatusOr<std::string> RefreshTokenSource::Token(std::optional<absl::string_view> must_replace,
                                                      absl::Time deadline) {
  mu_.Lock();
  const auto usable = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !access_token_.empty() && now_() < renew_at_ &&
           (!must_replace.has_value() || access_token_ != *must_replace);
  };
  while (!usable()) {
    if (refreshing_) {
      // Share the refresh under way: its result, good or bad, is this call's.
      RefreshWait wait{&refreshes_, refreshes_};
      if (!mu_.AwaitWithDeadline(absl::Condition(&RefreshWait::Done, &wait), deadline)) {
        mu_.Unlock();
        return WithErrorInfo(absl::DeadlineExceededError("the call's deadline passed while the access token was "
                                                         "being refreshed"),
                             reason::kDeadlineExceeded);
      }
      if (!last_result_.ok()) {
        absl::Status shared = last_result_;
        mu_.Unlock();
        return shared;
      }
      continue;
    }
    ReloadRefreshTokenIfChanged();
    if (!last_result_.ok() && now_() < retry_after_failure_) {
      absl::Status held = last_result_;  // do not hammer the identity platform with a request it just refused
      mu_.Unlock();
      return held;
    }
    refreshing_ = true;
    const std::string refresh_token = refresh_token_;
    mu_.Unlock();

    absl::StatusOr<Grant> grant = Exchange(refresh_token, deadline);

    mu_.Lock();
    refreshing_ = false;
    ++refreshes_;
    last_result_ = grant.status();
    if (!grant.ok()) {
      retry_after_failure_ = GetErrorInfo(grant.status()).has_value() &&
                                     GetErrorInfo(grant.status())->reason() == reason::kRefreshTokenInvalid
                                 ? absl::InfiniteFuture()  // until the file changes
                                 : now_() + kFailureHoldDown;
      mu_.Unlock();
      return grant.status();
    }
    access_token_ = grant->access_token;
    renew_at_ = grant->renew_at;
    if (grant->rotated_refresh_token.has_value() && *grant->rotated_refresh_token != refresh_token_) {
      refresh_token_ = *grant->rotated_refresh_token;
      if (std::optional<FileVersion> saved = SaveRefreshToken(refresh_token_)) refresh_token_file_version_ = saved;
    }
    if (must_replace.has_value() && access_token_ == *must_replace) break;  // the endpoint gave the same token
  }
  std::string token = access_token_;
  mu_.Unlock();
  return token;
}

absl::StatusOr<RefreshTokenSource::Grant> RefreshTokenSource::Exchange(const std::string& refresh_token,
                                                                       absl::Time deadline) const {
  const std::string where = absl::StrCat("token endpoint ", partner_center::RedactedUrl(options_.token_url));
  partner_center::HttpRequest request;
  request.method = "POST";
  request.url = options_.token_url;
  request.timeout = std::min(options_.request_timeout, deadline - now_());
  if (request.timeout <= absl::ZeroDuration()) {
    return WithErrorInfo(absl::DeadlineExceededError("the call's deadline passed before the access token was "
                                                     "refreshed"),
                         reason::kDeadlineExceeded);
  }
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

  const absl::Time started = now_();
  absl::StatusOr<partner_center::HttpResponse> response = transport_->Send(request);
  if (!response.ok()) {
    LogWarning(where, " failed: ", response.status().message());
    return Unavailable(absl::StrCat(where, " cannot be reached: ", response.status().message()));
  }
  const nlohmann::json body = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (response->status_code != 200) {
    const std::string error = body.is_object() ? Printable(JsonText(body, "error"), 64) : "";
    const std::string description = body.is_object() ? FirstLine(JsonText(body, "error_description")) : "";
    LogWarning(where, " answered HTTP ", response->status_code, " ", error, ": ", description);
    if (response->status_code >= 500 || response->status_code == 429 || response->status_code == 408 ||
        response->status_code < 400) {
      absl::Status unavailable = Unavailable(absl::StrCat(where, " answered HTTP ", response->status_code));
      if (std::optional<std::string> retry_after = response->Header("retry-after")) {
        if (std::optional<absl::Duration> delay = partner_center::ParseRetryAfterHeader(*retry_after, now_())) {
          unavailable = WithRetryInfo(unavailable, *delay);
        }
      }
      return unavailable;
    }
    if (error == "invalid_grant") {
      return WithErrorInfo(absl::FailedPreconditionError(absl::StrCat(
                               "the identity platform refused the refresh token (invalid_grant: ", description,
                               "); it must be renewed: sign in again as an App+User (MFA is enforced) and put the "
                               "new refresh token in --refresh_token_file")),
                           reason::kRefreshTokenInvalid);
    }
    return WithErrorInfo(
        absl::FailedPreconditionError(absl::StrCat(where, " refused the request (HTTP ", response->status_code, " ",
                                                   error, ": ", description, ")")),
        reason::kTokenRequestRejected);
  }

  Grant grant;
  grant.access_token = body.is_object() ? JsonText(body, "access_token") : "";
  int64_t expires_in = 0;
  if (auto it = body.is_object() ? body.find("expires_in") : body.end(); it != body.end()) {
    if (it->is_number_integer()) expires_in = it->get<int64_t>();
    if (it->is_string() && !absl::SimpleAtoi(it->get<std::string>(), &expires_in)) expires_in = 0;
  }
  if (!IsBearerTokenText(grant.access_token) || expires_in <= 0) {
    return WithErrorInfo(
        absl::UnavailableError(absl::StrCat(where, " answered without a usable access_token and expires_in")),
        reason::kTokenEndpointUnavailable);
  }
  const absl::Duration lifetime = absl::Seconds(expires_in);
  grant.renew_at = started + lifetime - std::min(options_.refresh_margin, lifetime / 4);
  if (std::string rotated = JsonText(body, "refresh_token"); IsBearerTokenText(rotated)) {
    grant.rotated_refresh_token = std::move(rotated);
  }
  LogInfo(where, ": new access token, valid for ", expires_in, "s",
          grant.rotated_refresh_token.has_value() ? "; refresh token rotated" : "");
  return grant;
}

std::optional<FileVersion> RefreshTokenSource::SaveRefreshToken(const std::string& refresh_token) const {
  const std::string& path = options_.refresh_token_file;
  std::string temporary = absl::StrCat(path, ".XXXXXX");
  const int fd = mkstemp(temporary.data());  // a fresh private file (mode 0600), never a planted link
  bool saved = fd >= 0;
  if (saved) {
    const std::string contents = refresh_token + "\n";
    saved = write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) && fsync(fd) == 0;
    saved = close(fd) == 0 && saved;
  }
  saved = saved && rename(temporary.c_str(), path.c_str()) == 0;
  if (!saved) {
    const int error = errno;
    if (fd >= 0) unlink(temporary.c_str());
    LogError("cannot save the rotated refresh token to ", path, " (", std::strerror(error),
             "); it is kept in memory only and will be lost on restart");
    return std::nullopt;
  }
  const std::string directory = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  if (const int dir_fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    fsync(dir_fd);  // the rename itself survives a crash
    close(dir_fd);
  }
  return FileVersion::Of(path);
}

}  // namespace pcusage::auth
