// Keeps the process's secrets out of what it says. Secrets are held here from where they enter the process (token
// files, the refresh-token grant, a caller's bearer token for the length of its call, proxy credentials) to where
// they are dropped; RedactSecrets takes every held secret, and anything that looks like a credential, out of text
// before it reaches a caller or a log line. Printable (printable.h), the log and the gRPC status mapping all call it,
// so text from outside cannot skip it. Thread safe.
#ifndef PCUSAGE_SERVER_COMMON_SECRETS_H_
#define PCUSAGE_SERVER_COMMON_SECRETS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace pcusage {

// What stands in for a secret taken out of text.
inline constexpr char kRedacted[] = "[redacted]";

// Secrets shorter than this are not held: they would redact ordinary words. (Credentials in URLs and after
// "Bearer " are redacted by their shape, whatever their length.)
inline constexpr std::size_t kMinHeldSecretBytes = 6;

// One or more secrets held until this is destroyed or reassigned. Move-only; a default-constructed hold holds nothing.
class SecretHold {
 public:
  SecretHold() = default;
  SecretHold(SecretHold&& other) noexcept;
  SecretHold& operator=(SecretHold&& other) noexcept;
  SecretHold(const SecretHold&) = delete;
  SecretHold& operator=(const SecretHold&) = delete;
  ~SecretHold();

 private:
  friend SecretHold HoldSecret(absl::string_view secret);
  void Release();
  std::vector<std::string> held_;
};

// Holds `secret`, as it is and in its x-www-form-urlencoded spelling, while the returned hold lives.
[[nodiscard]] SecretHold HoldSecret(absl::string_view secret);

// `text` with every held secret replaced by kRedacted, and the values of credentials recognised by their shape:
// the token after "Bearer " or "Basic ", a JWT (eyJ….….…), the userinfo of a URL (scheme://user:password@), and
// the value of a form or JSON member named access_token, refresh_token, id_token, client_secret, client_assertion,
// assertion or password.
std::string RedactSecrets(absl::string_view text);

// RedactSecrets for several texts at once (the fields of one log line): the secrets held when it was made.
class Redactor {
 public:
  Redactor();
  std::string Redact(absl::string_view text) const;

 private:
  std::shared_ptr<const std::vector<std::string>> held_;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_SECRETS_H_
