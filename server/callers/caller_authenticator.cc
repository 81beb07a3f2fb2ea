#include "server/callers/caller_authenticator.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/error_details.h"
#include "server/common/files.h"

namespace pcusage::callers {
namespace {

std::string Sha256(absl::string_view salt, absl::string_view key) {
  const std::string input = absl::StrCat(salt, key);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

bool IsHex(absl::string_view text) {
  return !text.empty() && text.size() % 2 == 0 && std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isxdigit(static_cast<unsigned char>(c));
  });
}

// The non-empty lines of a list file, without `#` comments.
absl::StatusOr<std::vector<std::string>> ReadLines(const std::string& path) {
  constexpr std::size_t kMaxListFileBytes = 1 << 20;
  absl::StatusOr<std::string> contents = ReadSmallFile(path, kMaxListFileBytes);
  if (!contents.ok()) return absl::InvalidArgumentError(contents.status().message());
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
    line = line.substr(0, line.find('#'));
    absl::string_view content = absl::StripAsciiWhitespace(line);
    if (!content.empty()) lines.emplace_back(content);
  }
  return lines;
}

// The list in `path` (nothing when `path` is empty), read by `read` now and again when it changes; `what` and
// `counted` name the file and its entries in log lines.
template <typename List>
absl::StatusOr<std::unique_ptr<WatchedFiles<List>>> WatchList(
    absl::string_view what, const std::string& path, absl::Duration reload_interval,
    absl::StatusOr<std::shared_ptr<const List>> (*read)(const std::string&), absl::string_view counted) {
  if (path.empty()) return std::unique_ptr<WatchedFiles<List>>();
  return WatchedFiles<List>::Create(
      absl::StrCat(what, " ", path), {path}, reload_interval, [read, path] { return read(path); },
      [counted = std::string(counted)](const List& in_force) { return absl::StrCat(in_force.size(), " ", counted); });
}

absl::Status Denied(absl::string_view why) {
  return WithErrorInfo(absl::UnauthenticatedError(absl::StrCat("caller not authenticated: ", why)),
                       reason::kCallerUnauthenticated);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CallerAuthenticator::Keys>> CallerAuthenticator::ReadKeys(
    const std::string& path) {
  absl::StatusOr<std::vector<std::string>> lines = ReadLines(path);
  if (!lines.ok()) return lines.status();
  auto keys = std::make_shared<Keys>();
  for (std::size_t i = 0; i < lines->size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit((*lines)[i], absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 3 || !IsHex(fields[1]) || !IsHex(fields[2]) || fields[2].size() != 64) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": entry ", i + 1, " is not \"<name> <salt hex> <sha256 hex>\""));
    }
    keys->push_back({fields[0], absl::HexStringToBytes(fields[1]), absl::HexStringToBytes(fields[2])});
  }
  if (keys->empty()) return absl::InvalidArgumentError(absl::StrCat(path, " holds no key"));
  return keys;
}

absl::StatusOr<std::shared_ptr<const CallerAuthenticator::Identities>> CallerAuthenticator::ReadAllowList(
    const std::string& path) {
  absl::StatusOr<std::vector<std::string>> lines = ReadLines(path);
  if (!lines.ok()) return lines.status();
  if (lines->empty()) return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  return std::make_shared<const Identities>(*std::move(lines));
}

absl::StatusOr<std::unique_ptr<CallerAuthenticator>> CallerAuthenticator::Create(
    const std::string& api_keys_file, const std::string& client_allow_list_file, absl::Duration reload_interval) {
  absl::StatusOr<std::unique_ptr<WatchedFiles<Keys>>> keys =
      WatchList<Keys>("API keys file", api_keys_file, reload_interval, &ReadKeys, "API keys");
  if (!keys.ok()) return keys.status();
  absl::StatusOr<std::unique_ptr<WatchedFiles<Identities>>> allowed = WatchList<Identities>(
      "client allow list", client_allow_list_file, reload_interval, &ReadAllowList, "allowed client identities");
  if (!allowed.ok()) return allowed.status();
  return std::unique_ptr<CallerAuthenticator>(new CallerAuthenticator(*std::move(keys), *std::move(allowed)));
}

absl::StatusOr<std::string> CallerAuthenticator::Authenticate(const CallerCredentials& caller) const {
  if (!enabled()) return std::string("anonymous");
  if (allowed_identities_ != nullptr) {
    const std::shared_ptr<const Identities> allowed = allowed_identities_->Current();
    for (const std::string& identity : caller.certificate_identities) {
      if (std::find(allowed->begin(), allowed->end(), identity) != allowed->end()) {
        return absl::StrCat(kCertificateIdentityPrefix, identity);
      }
    }
  }
  if (keys_ == nullptr) return Denied("no allowed TLS client certificate");
  if (!caller.api_key.has_value()) {
    return Denied(absl::StrCat("send an API key as \"", kApiKeyMetadata, "\" metadata"));
  }
  // Every key is checked, whatever matches, so the time taken says nothing about which key or how much of it.
  const std::shared_ptr<const Keys> keys = keys_->Current();
  const Key* match = nullptr;
  for (const Key& key : *keys) {
    const std::string hash = Sha256(key.salt, *caller.api_key);
    if (CRYPTO_memcmp(hash.data(), key.hash.data(), hash.size()) == 0) match = &key;
  }
  if (match != nullptr) return absl::StrCat(kApiKeyIdentityPrefix, match->name);
  return Denied("the API key is not valid");
}

absl::StatusOr<std::string> CallerAuthenticator::HashLine(absl::string_view name, absl::string_view key) {
  std::string salt(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1) {
    return absl::InternalError("the system's random generator failed");
  }
  return absl::StrCat(name, " ", absl::BytesToHexString(salt), " ", absl::BytesToHexString(Sha256(salt, key)));
}

}  // namespace pcusage::callers
