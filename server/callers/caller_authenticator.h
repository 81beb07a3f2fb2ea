// Who may call the service: callers presenting an API key from --api_keys_file (stored as salted SHA-256 hashes,
// compared in constant time), and/or callers whose mTLS client certificate names an identity on an allow list.
// With neither configured every caller is let in (the listener must then be loopback or protected otherwise).
// Both files are re-read when they change (looked at once per reload interval at most); a bad new file keeps the
// keys or identities read earlier and is logged as a warning, never with what it holds.
#ifndef PCUSAGE_SERVER_CALLERS_CALLER_AUTHENTICATOR_H_
#define PCUSAGE_SERVER_CALLERS_CALLER_AUTHENTICATOR_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/callers/watched_files.h"

namespace pcusage::callers {

// Caller metadata carrying an API key.
inline constexpr char kApiKeyMetadata[] = "x-api-key";

// A caller's identity is typed by how it was proved: "key:<API key name>" or "cert:<certificate identity>". An API
// key named alice and a client certificate naming alice are two callers, whose streams neither can resume.
inline constexpr char kApiKeyIdentityPrefix[] = "key:";
inline constexpr char kCertificateIdentityPrefix[] = "cert:";

// What the service knows about a caller: the API key it sent, and the identities (subject CN and SANs) of its
// verified TLS client certificate.
struct CallerCredentials {
  std::optional<std::string> api_key;
  std::vector<std::string> certificate_identities;
};

class CallerAuthenticator {
 public:
  // How often the files are looked at for a change unless told otherwise.
  static constexpr absl::Duration kDefaultReloadInterval = absl::Seconds(5);

  // Reads the files named (either may be empty). API keys file: one key a line, `<name> <salt hex> <sha256 hex of
  // salt bytes followed by the key>`; `#` starts a comment. Allow list: one client identity a line. Neither may be
  // empty, at start or later. `reload_interval` is the least time between two looks (stat) at the files.
  static absl::StatusOr<std::unique_ptr<CallerAuthenticator>> Create(
      const std::string& api_keys_file, const std::string& client_allow_list_file,
      absl::Duration reload_interval = kDefaultReloadInterval);

  // Whether any caller authentication is configured.
  bool enabled() const { return keys_ != nullptr || allowed_identities_ != nullptr; }

  // OK with the caller's typed identity when it is let in: "key:<name>" for an API key, "cert:<identity>" for an
  // allowed certificate identity (which wins when the caller shows both), "anonymous" when caller authentication is
  // off. UNAUTHENTICATED, reason CALLER_UNAUTHENTICATED, otherwise. The message never repeats the key. Uses the
  // keys and identities in force, after looking for new files when due; safe from any number of threads.
  absl::StatusOr<std::string> Authenticate(const CallerCredentials& caller) const;

  // A line for the API keys file: `<name> <salt hex> <hash hex>` for `key`, with a fresh random salt.
  static absl::StatusOr<std::string> HashLine(absl::string_view name, absl::string_view key);

 private:
  struct Key {
    std::string name;
    std::string salt;
    std::string hash;  // 32 bytes
  };
  using Keys = std::vector<Key>;
  using Identities = std::vector<std::string>;
  CallerAuthenticator(std::unique_ptr<WatchedFiles<Keys>> keys, std::unique_ptr<WatchedFiles<Identities>> allowed)
      : keys_(std::move(keys)), allowed_identities_(std::move(allowed)) {}

  static absl::StatusOr<std::shared_ptr<const Keys>> ReadKeys(const std::string& path);
  static absl::StatusOr<std::shared_ptr<const Identities>> ReadAllowList(const std::string& path);

  // Null when not configured.
  const std::unique_ptr<WatchedFiles<Keys>> keys_;
  const std::unique_ptr<WatchedFiles<Identities>> allowed_identities_;
};

}  // namespace pcusage::callers

#endif  // PCUSAGE_SERVER_CALLERS_CALLER_AUTHENTICATOR_H_
