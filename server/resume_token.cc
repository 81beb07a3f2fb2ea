#include "server/resume_token.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/resume_token.pb.h"

namespace pcusage {
namespace {

constexpr absl::string_view kVersionPrefix = "v1";

absl::Status Malformed() {
  return absl::InvalidArgumentError(
      "resume_token is not a token this server issued (malformed, or signed with another key)");
}

}  // namespace

void ResumeTokenCodec::MacContextFree::operator()(EVP_MAC_CTX* context) const { EVP_MAC_CTX_free(context); }

ResumeTokenCodec::MacContext ResumeTokenCodec::KeyedHmacSha256(absl::string_view key) {
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr), EVP_MAC_free);
  if (hmac == nullptr) return nullptr;
  MacContext keyed(EVP_MAC_CTX_new(hmac.get()));  // holds its own reference to `hmac`
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (keyed == nullptr ||
      EVP_MAC_init(keyed.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
    return nullptr;
  }
  return keyed;
}

uint64_t ExtendFingerprint(uint64_t fingerprint, absl::string_view resource_id) {
  const auto mix = [&fingerprint](unsigned char byte) {
    fingerprint ^= byte;
    fingerprint *= 0x100000001b3ULL;  // FNV-1a 64 prime
  };
  for (unsigned char c : resource_id) mix(c);
  mix(0);  // ends each id, so ("ab", "c") and ("a", "bc") differ
  return fingerprint;
}

uint64_t ExtendFingerprint(uint64_t fingerprint, const partnercenter::usage::v1::CustomerMonthlyUsageRecord& record) {
  return ExtendFingerprint(fingerprint, record.resource_id());
}

absl::StatusOr<std::unique_ptr<ResumeTokenCodec>> ResumeTokenCodec::Create(absl::string_view key, absl::Duration ttl) {
  if (key.size() < kMinKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the resume token key must be at least ", kMinKeyBytes, " bytes"));
  }
  if (ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("the resume token lifetime must be positive");
  MacContext keyed = KeyedHmacSha256(key);
  if (keyed == nullptr) return absl::InternalError("OpenSSL could not set up HMAC-SHA256 for resume tokens");
  return std::unique_ptr<ResumeTokenCodec>(new ResumeTokenCodec(std::move(keyed), ttl));
}

absl::StatusOr<std::string> ResumeTokenCodec::RandomKey() {
  std::string key(kMinKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return absl::InternalError("the system's random generator failed");
  }
  return key;
}

std::optional<std::string> ResumeTokenCodec::Sign(absl::string_view contents) const {
  // A copy of the keyed context: the key's setup (and OpenSSL's algorithm lookup) is done once, in Create.
  MacContext context(EVP_MAC_CTX_dup(keyed_.get()));
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_size = 0;
  if (context == nullptr ||
      EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(contents.data()), contents.size()) != 1 ||
      EVP_MAC_final(context.get(), mac, &mac_size, sizeof(mac)) != 1 || mac_size == 0) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(mac), mac_size);
}

std::string ResumeTokenCodec::Encode(const StreamPosition& position, absl::Time now) const {
  internal::ResumeTokenContents contents;
  contents.set_issued_unix_seconds(absl::ToUnixSeconds(now));
  contents.set_page_url(position.page.url);
  for (const http::HttpHeader& header : position.page.headers) {
    internal::ResumeTokenContents::Header* added = contents.add_page_headers();
    added->set_name(header.name);
    added->set_value(header.value);
  }
  contents.set_page_number(position.page.page_number);
  contents.set_skip_records(position.skip_records);
  contents.set_delivered_fingerprint(position.delivered_fingerprint);
  contents.set_caller(position.caller);
  contents.set_snapshot_id(position.snapshot_id);
  contents.set_snapshot_page_index(position.snapshot_page_index);
  const std::string serialized = contents.SerializeAsString();
  return absl::StrCat(kVersionPrefix, ".", absl::WebSafeBase64Escape(serialized), ".",
                      absl::WebSafeBase64Escape(Sign(serialized).value_or("")));  // unsigned: Decode refuses it
}

absl::StatusOr<StreamPosition> ResumeTokenCodec::Decode(absl::string_view token, absl::Time now) const {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  std::string serialized;
  std::string mac;
  // Only the spelling Encode writes: the decoder also takes padding, whitespace and set unused bits.
  if (parts.size() != 3 || parts[0] != kVersionPrefix || !absl::WebSafeBase64Unescape(parts[1], &serialized) ||
      !absl::WebSafeBase64Unescape(parts[2], &mac) || absl::WebSafeBase64Escape(serialized) != parts[1] ||
      absl::WebSafeBase64Escape(mac) != parts[2]) {
    return Malformed();
  }
  const std::optional<std::string> expected = Sign(serialized);
  if (!expected.has_value()) return absl::InternalError("OpenSSL could not check the resume token's signature");
  if (mac.size() != expected->size() || CRYPTO_memcmp(mac.data(), expected->data(), mac.size()) != 0) {
    return Malformed();
  }
  internal::ResumeTokenContents contents;
  if (!contents.ParseFromString(serialized) || contents.page_number() < 1 || contents.skip_records() < 0 ||
      contents.snapshot_page_index() < 0) {
    return Malformed();
  }
  const absl::Time issued = absl::FromUnixSeconds(contents.issued_unix_seconds());
  if (now - issued > ttl_ || issued - now > absl::Minutes(5)) {
    return absl::FailedPreconditionError(absl::StrCat("resume_token expired (issued ", absl::FormatTime(issued),
                                                      ", valid for ", absl::FormatDuration(ttl_),
                                                      "); list again from the start"));
  }
  StreamPosition position;
  position.page.url = contents.page_url();
  for (const auto& header : contents.page_headers()) position.page.headers.push_back({header.name(), header.value()});
  position.page.page_number = contents.page_number();
  position.skip_records = contents.skip_records();
  position.delivered_fingerprint = contents.delivered_fingerprint();
  position.caller = contents.caller();
  position.snapshot_id = contents.snapshot_id();
  position.snapshot_page_index = contents.snapshot_page_index();
  return position;
}

}  // namespace pcusage
