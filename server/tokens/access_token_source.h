// Where a call's Partner Center access token comes from: the server's own token file, or the caller's
// `authorization: Bearer` metadata passed through. The token itself is never logged or put in a status.
#ifndef PCUSAGE_SERVER_TOKENS_ACCESS_TOKEN_SOURCE_H_
#define PCUSAGE_SERVER_TOKENS_ACCESS_TOKEN_SOURCE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/files.h"
#include "server/common/secrets.h"

namespace pcusage::tokens {

class AccessTokenSource {
 public:
  virtual ~AccessTokenSource() = default;

  // The token for one call. `caller_authorization` is the caller's `authorization` metadata, if sent. Waits (for a
  // token endpoint, say) end by `deadline` with DEADLINE_EXCEEDED.
  virtual absl::StatusOr<std::string> TokenForCall(std::optional<absl::string_view> caller_authorization,
                                                   absl::Time deadline) = 0;

  // Another token to try once after Partner Center rejected `rejected` (HTTP 401). NOT_FOUND when there is none
  // (the default), and the 401 stands; another error says why getting one failed.
  virtual absl::StatusOr<std::string> TokenAfterRejection(absl::string_view rejected, absl::Time deadline);

  // Whether each call brings its own token (passthrough), so that calls with different tokens may read different
  // partners' data; false when every call uses the server's own credentials.
  virtual bool TokensComeFromCallers() const { return false; }
};

// Uses the caller's "Bearer <token>": UNAUTHENTICATED when it is missing or not a bearer token.
class CallerTokenSource final : public AccessTokenSource {
 public:
  absl::StatusOr<std::string> TokenForCall(std::optional<absl::string_view> caller_authorization,
                                           absl::Time deadline) override;
  bool TokensComeFromCallers() const override { return true; }
};

// Reads the token from a file and re-reads it whenever the file changes (modification time, size or inode), so
// an external job can rotate it without a restart. Surrounding whitespace is ignored. Thread safe.
class FileTokenSource final : public AccessTokenSource {
 public:
  static constexpr std::size_t kMaxTokenFileBytes = std::size_t{64} << 10;

  // Reads the file once; the error says why it cannot be used (missing, unreadable, empty).
  static absl::StatusOr<std::unique_ptr<FileTokenSource>> Create(std::string path);

  // The file's current token; the caller's metadata is ignored. When the file becomes unreadable, the last good
  // token is used and a warning logged; UNAVAILABLE when there has never been one.
  absl::StatusOr<std::string> TokenForCall(std::optional<absl::string_view> caller_authorization,
                                           absl::Time deadline) override;

  // The file's token when it changed since `rejected` was read from it (an external job rotated it).
  absl::StatusOr<std::string> TokenAfterRejection(absl::string_view rejected, absl::Time deadline) override;

 private:
  explicit FileTokenSource(std::string path) : path_(std::move(path)) {}
  absl::Status Reload() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  SecretHold token_holds_[2] ABSL_GUARDED_BY(mu_);  // the token and the one before it, kept out of text
  std::optional<FileVersion> version_ ABSL_GUARDED_BY(mu_);
};

// Whether `token` can be a bearer token: non-empty, no spaces or control characters.
bool IsBearerTokenText(absl::string_view token);

// The bearer token in an `authorization` value ("Bearer <token>", scheme case-insensitive); UNAUTHENTICATED
// otherwise.
absl::StatusOr<std::string> BearerToken(absl::string_view authorization);

}  // namespace pcusage::tokens

#endif  // PCUSAGE_SERVER_TOKENS_ACCESS_TOKEN_SOURCE_H_
