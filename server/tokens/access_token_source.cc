#include "server/tokens/access_token_source.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/common/log.h"

namespace pcusage::tokens {

bool IsBearerTokenText(absl::string_view token) {
  return !token.empty() && std::none_of(token.begin(), token.end(),
                                        [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

absl::StatusOr<std::string> BearerToken(absl::string_view authorization) {
  absl::string_view value = absl::StripAsciiWhitespace(authorization);
  constexpr absl::string_view kScheme = "bearer ";
  if (!absl::StartsWithIgnoreCase(value, kScheme)) {
    return WithErrorInfo(
        absl::UnauthenticatedError("the authorization metadata must be \"Bearer <Partner Center token>\""),
        reason::kAccessTokenMissing);
  }
  absl::string_view token = absl::StripAsciiWhitespace(value.substr(kScheme.size()));
  if (!IsBearerTokenText(token)) {
    return WithErrorInfo(
        absl::UnauthenticatedError("the bearer token in the authorization metadata is empty or malformed"),
        reason::kAccessTokenMissing);
  }
  return std::string(token);
}

absl::StatusOr<std::string> AccessTokenSource::TokenAfterRejection(absl::string_view, absl::Time) {
  return absl::NotFoundError("this token source has no other token to offer");
}

absl::StatusOr<std::string> CallerTokenSource::TokenForCall(std::optional<absl::string_view> caller_authorization,
                                                            absl::Time) {
  if (!caller_authorization.has_value()) {
    return WithErrorInfo(absl::UnauthenticatedError("no Partner Center token: send \"authorization: Bearer <token>\" "
                                                    "metadata, or start the server with --access_token_file"),
                         reason::kAccessTokenMissing);
  }
  return BearerToken(*caller_authorization);
}

absl::StatusOr<std::unique_ptr<FileTokenSource>> FileTokenSource::Create(std::string path) {
  std::unique_ptr<FileTokenSource> source(new FileTokenSource(std::move(path)));
  absl::MutexLock lock(&source->mu_);
  if (absl::Status status = source->Reload(); !status.ok()) return status;
  return source;
}

absl::Status FileTokenSource::Reload() {
  const std::optional<FileVersion> current = FileVersion::Of(path_);
  if (!current.has_value()) {
    return absl::UnavailableError(absl::StrCat("access token file ", path_, ": ", std::strerror(errno)));
  }
  const FileVersion& version = *current;
  if (version_.has_value() && *version_ == version) return absl::OkStatus();
  absl::StatusOr<std::string> contents = ReadSmallFile(path_, kMaxTokenFileBytes);
  if (!contents.ok()) {
    return absl::UnavailableError(absl::StrCat("access token file: ", contents.status().message()));
  }
  std::string token(absl::StripAsciiWhitespace(*contents));
  if (token.empty()) return absl::UnavailableError(absl::StrCat("access token file ", path_, " is empty"));
  if (!IsBearerTokenText(token)) {
    return absl::UnavailableError(
        absl::StrCat("access token file ", path_, " must hold one token, without spaces or line breaks inside"));
  }
  if (version_.has_value()) LogInfo("access token file ", path_, " changed; using the new token");
  token_holds_[1] = std::move(token_holds_[0]);
  token_holds_[0] = HoldSecret(token);
  token_ = std::move(token);
  version_ = version;
  return absl::OkStatus();
}

absl::StatusOr<std::string> FileTokenSource::TokenForCall(std::optional<absl::string_view>, absl::Time) {
  absl::MutexLock lock(&mu_);
  if (absl::Status status = Reload(); !status.ok()) {
    if (token_.empty()) return status;
    LogWarning(status.message(), "; keeping the token read earlier");
  }
  return token_;
}

absl::StatusOr<std::string> FileTokenSource::TokenAfterRejection(absl::string_view rejected, absl::Time deadline) {
  absl::StatusOr<std::string> current = TokenForCall(std::nullopt, deadline);
  if (!current.ok()) return current;
  if (*current == rejected) return absl::NotFoundError("the access token file still holds the rejected token");
  return current;
}

}  // namespace pcusage::tokens
