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

absl::Status Denied(absl::string_view why) {
  return WithErrorInfo(absl::UnauthenticatedError(absl::StrCat("caller not authenticated: ", why)),
                       reason::kCallerUnauthenticated);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CallerAuthenticator>> CallerAuthenticator::Create(
    const std::string& api_keys_file, const std::string& client_allow_list_file) {
  std::vector<Key> keys;
  if (!api_keys_file.empty()) {
    absl::StatusOr<std::vector<std::string>> lines = ReadLines(api_keys_file);
    if (!lines.ok()) return lines.status();
    for (std::size_t i = 0; i < lines->size(); ++i) {
      std::vector<std::string> fields = absl::StrSplit((*lines)[i], absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (fields.size() != 3 || !IsHex(fields[1]) || !IsHex(fields[2]) || fields[2].size() != 64) {
        return absl::InvalidArgumentError(
            absl::StrCat(api_keys_file, ": entry ", i + 1, " is not \"<name> <salt hex> <sha256 hex>\""));
      }
      keys.push_back({fields[0], absl::HexStringToBytes(fields[1]), absl::HexStringToBytes(fields[2])});
    }
    if (keys.empty()) return absl::InvalidArgumentError(absl::StrCat(api_keys_file, " holds no key"));
  }
  std::vector<std::string> allowed;
  if (!client_allow_list_file.empty()) {
    absl::StatusOr<std::vector<std::string>> lines = ReadLines(client_allow_list_file);
    if (!lines.ok()) return lines.status();
    allowed = *std::move(lines);
    if (allowed.empty()) return absl::InvalidArgumentError(absl::StrCat(client_allow_list_file, " is empty"));
  }
  return std::unique_ptr<CallerAuthenticator>(new CallerAuthenticator(std::move(keys), std::move(allowed)));
}

absl::StatusOr<std::string> CallerAuthenticator::Authenticate(const CallerCredentials& caller) const {
  if (!enabled()) return std::string("anonymous");
  for (const std::string& identity : caller.certificate_identities) {
    if (std::find(allowed_identities_.begin(), allowed_identities_.end(), identity) != allowed_identities_.end()) {
      return absl::StrCat(kCertificateIdentityPrefix, identity);
    }
  }
  if (caller.api_key.has_value() && !keys_.empty()) {
    // Every key is checked, whatever matches, so the time taken says nothing about which key or how much of it.
    const Key* match = nullptr;
    for (const Key& key : keys_) {
      const std::string hash = Sha256(key.salt, *caller.api_key);
      if (CRYPTO_memcmp(hash.data(), key.hash.data(), hash.size()) == 0) match = &key;
    }
    if (match != nullptr) return absl::StrCat(kApiKeyIdentityPrefix, match->name);
    return Denied("the API key is not valid");
  }
  if (!keys_.empty()) return Denied(absl::StrCat("send an API key as \"", kApiKeyMetadata, "\" metadata"));
  return Denied("no allowed TLS client certificate");
}

absl::StatusOr<std::string> CallerAuthenticator::HashLine(absl::string_view name, absl::string_view key) {
  std::string salt(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1) {
    return absl::InternalError("the system's random generator failed");
  }
  return absl::StrCat(name, " ", absl::BytesToHexString(salt), " ", absl::BytesToHexString(Sha256(salt, key)));
}

}  // namespace pcusage::callers
