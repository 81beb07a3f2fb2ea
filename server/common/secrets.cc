#include "server/common/secrets.h"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "server/common/form_encoding.h"

namespace pcusage {
namespace {

// Every held secret with the number of holds on it, and the same secrets longest first (so that a secret holding
// another is taken out whole), rebuilt on each change so that redaction only copies a pointer under the lock.
class Registry {
 public:
  void Add(const std::string& secret) {
    absl::MutexLock lock(&mu_);
    if (++holds_[secret] == 1) Rebuild();
  }
  void Remove(const std::string& secret) {
    absl::MutexLock lock(&mu_);
    auto it = holds_.find(secret);
    if (it == holds_.end() || --it->second > 0) return;
    holds_.erase(it);
    Rebuild();
  }
  std::shared_ptr<const std::vector<std::string>> LongestFirst() const {
    absl::MutexLock lock(&mu_);
    return longest_first_;
  }

 private:
  void Rebuild() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto sorted = std::make_shared<std::vector<std::string>>();
    sorted->reserve(holds_.size());
    for (const auto& [secret, holds] : holds_) sorted->push_back(secret);
    std::stable_sort(sorted->begin(), sorted->end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    longest_first_ = std::move(sorted);
  }

  mutable absl::Mutex mu_;
  std::map<std::string, int> holds_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const std::vector<std::string>> longest_first_ ABSL_GUARDED_BY(mu_) =
      std::make_shared<std::vector<std::string>>();
};

Registry& TheRegistry() {
  static auto* registry = new Registry();  // never destroyed: holds may outlive static destruction
  return *registry;
}

bool IsWordCharacter(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsBase64UrlCharacter(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }
// RFC 7235 token68, the characters of a credential after an authentication scheme.
bool IsToken68Character(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("-._~+/=").find(c) != absl::string_view::npos;
}
// Where a form or JSON value ends.
bool EndsValue(char c) {
  return absl::ascii_isspace(static_cast<unsigned char>(c)) ||
         absl::string_view("&\"',;})").find(c) != absl::string_view::npos;
}
// Where the userinfo of a URL would have ended without an '@'.
bool EndsAuthority(char c) {
  return absl::ascii_isspace(static_cast<unsigned char>(c)) ||
         absl::string_view("/?#\"'<>").find(c) != absl::string_view::npos;
}

// How each credential shape below starts (the schemes and names in any case).
constexpr absl::string_view kAuthorizationSchemes[] = {"bearer ", "basic "};
constexpr absl::string_view kJsonWebTokenStart = "eyJ";
constexpr absl::string_view kUrlUserinfoStart = "://";
constexpr absl::string_view kCredentialNames[] = {"access_token",     "refresh_token", "id_token", "client_secret",
                                                  "client_assertion", "assertion",     "password"};

// The bytes a credential shape can start with, so that RedactShapes looks for shapes only where one may begin.
const std::array<bool, 256>& ShapeStarts() {
  static const std::array<bool, 256> kStarts = [] {
    std::array<bool, 256> table{};
    const auto mark_any_case = [&table](char c) {
      table[static_cast<unsigned char>(absl::ascii_tolower(static_cast<unsigned char>(c)))] = true;
      table[static_cast<unsigned char>(absl::ascii_toupper(static_cast<unsigned char>(c)))] = true;
    };
    for (absl::string_view scheme : kAuthorizationSchemes) mark_any_case(scheme[0]);
    for (absl::string_view name : kCredentialNames) mark_any_case(name[0]);
    table[static_cast<unsigned char>(kJsonWebTokenStart[0])] = true;
    table[static_cast<unsigned char>(kUrlUserinfoStart[0])] = true;
    return table;
  }();
  return kStarts;
}

std::size_t RunLength(absl::string_view text, bool (*in_run)(char)) {
  std::size_t length = 0;
  while (length < text.size() && in_run(text[length])) ++length;
  return length;
}

// A credential recognised by its shape at the start of `rest`: `keep` bytes of it stay, the `redact` bytes after
// them are replaced.
struct Match {
  std::size_t keep = 0;
  std::size_t redact = 0;
};

// "Bearer <token>" or "Basic <credentials>". The credential must be long enough not to be an English word
// ("the bearer token").
std::optional<Match> AuthorizationCredential(absl::string_view rest) {
  for (absl::string_view scheme : kAuthorizationSchemes) {
    if (!absl::StartsWithIgnoreCase(rest, scheme)) continue;
    const std::size_t spaces = RunLength(rest.substr(scheme.size()), [](char c) { return c == ' '; });
    const std::size_t length = RunLength(rest.substr(scheme.size() + spaces), IsToken68Character);
    constexpr std::size_t kMinCredentialBytes = 16;
    if (length >= kMinCredentialBytes) return Match{scheme.size() + spaces, length};
  }
  return std::nullopt;
}

// A JWT or JWE: base64url segments joined by dots, starting with the encoding of '{"'.
std::optional<Match> JsonWebToken(absl::string_view rest) {
  if (!absl::StartsWith(rest, kJsonWebTokenStart)) return std::nullopt;
  std::size_t length = RunLength(rest, IsBase64UrlCharacter);
  int dots = 0;
  while (length < rest.size() && rest[length] == '.') {
    ++dots;
    length += 1 + RunLength(rest.substr(length + 1), IsBase64UrlCharacter);
  }
  if (dots == 0) return std::nullopt;
  return Match{0, length};
}

// scheme://userinfo@ (the userinfo is redacted, the "://" and '@' stay).
std::optional<Match> UrlUserinfo(absl::string_view rest) {
  if (!absl::StartsWith(rest, kUrlUserinfoStart)) return std::nullopt;
  const absl::string_view authority = rest.substr(3);
  std::size_t at = 0;
  while (at < authority.size() && authority[at] != '@' && !EndsAuthority(authority[at])) ++at;
  if (at == 0 || at == authority.size() || authority[at] != '@') return std::nullopt;
  return Match{3, at};
}

// name=value, "name":"value", name: value, for the names of credentials in token requests and answers.
std::optional<Match> CredentialMember(absl::string_view rest) {
  for (absl::string_view name : kCredentialNames) {
    if (!absl::StartsWithIgnoreCase(rest, name)) continue;
    std::size_t at = name.size();
    if (at < rest.size() && (rest[at] == '"' || rest[at] == '\'')) ++at;
    at += RunLength(rest.substr(at), [](char c) { return c == ' '; });
    if (at >= rest.size() || (rest[at] != '=' && rest[at] != ':')) continue;
    ++at;
    at += RunLength(rest.substr(at), [](char c) { return c == ' '; });
    if (at < rest.size() && (rest[at] == '"' || rest[at] == '\'')) ++at;
    std::size_t length = 0;
    while (at + length < rest.size() && !EndsValue(rest[at + length])) ++length;
    if (length > 0) return Match{at, length};
  }
  return std::nullopt;
}

std::optional<Match> CredentialShapeAt(absl::string_view text, std::size_t at) {
  const absl::string_view rest = text.substr(at);
  if (rest[0] == ':') return UrlUserinfo(rest);
  if (at > 0 && IsWordCharacter(text[at - 1])) return std::nullopt;  // the other shapes start a word
  if (std::optional<Match> match = AuthorizationCredential(rest)) return match;
  if (std::optional<Match> match = JsonWebToken(rest)) return match;
  return CredentialMember(rest);
}

std::string RedactShapes(absl::string_view text) {
  std::string redacted;
  redacted.reserve(text.size());
  const std::array<bool, 256>& shape_starts = ShapeStarts();
  for (std::size_t at = 0; at < text.size();) {
    std::optional<Match> match;
    if (shape_starts[static_cast<unsigned char>(text[at])]) match = CredentialShapeAt(text, at);
    if (!match.has_value()) {
      redacted.push_back(text[at++]);
      continue;
    }
    absl::StrAppend(&redacted, text.substr(at, match->keep), kRedacted);
    at += match->keep + match->redact;
  }
  return redacted;
}

}  // namespace

SecretHold::SecretHold(SecretHold&& other) noexcept : held_(std::exchange(other.held_, {})) {}

SecretHold& SecretHold::operator=(SecretHold&& other) noexcept {
  if (this != &other) {
    Release();
    held_ = std::exchange(other.held_, {});
  }
  return *this;
}

SecretHold::~SecretHold() { Release(); }

void SecretHold::Release() {
  for (const std::string& secret : held_) TheRegistry().Remove(secret);
  held_.clear();
}

SecretHold HoldSecret(absl::string_view secret) {
  SecretHold hold;
  if (secret.size() < kMinHeldSecretBytes) return hold;
  hold.held_.emplace_back(secret);
  if (std::string encoded = FormEncode(secret); encoded != secret) hold.held_.push_back(std::move(encoded));
  for (const std::string& held : hold.held_) TheRegistry().Add(held);
  return hold;
}

// Held by name in a member: `for (... : *TheRegistry().LongestFirst())` would destroy the temporary shared_ptr before
// the loop body runs, and a concurrent Rebuild could then free the list under it (ThreadSanitizer found it).
Redactor::Redactor() : held_(TheRegistry().LongestFirst()) {}

std::string Redactor::Redact(absl::string_view text) const {
  std::string redacted(text);
  for (const std::string& secret : *held_) {
    if (absl::StrContains(redacted, secret)) redacted = absl::StrReplaceAll(redacted, {{secret, kRedacted}});
  }
  return RedactShapes(redacted);
}

std::string RedactSecrets(absl::string_view text) { return Redactor().Redact(text); }

}  // namespace pcusage
