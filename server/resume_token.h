// Resume tokens for ListUsageRecords: a stream's position (a Partner Center page and how many of its records were
// delivered), signed with HMAC-SHA256 so that only a server holding the key accepts it, and stamped so it expires.
#ifndef PCUSAGE_SERVER_RESUME_TOKEN_H_
#define PCUSAGE_SERVER_RESUME_TOKEN_H_

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "partnercenter/usage/v1/usage_records.pb.h"
#include "server/partner_center/page_position.h"

namespace pcusage {

// Fingerprints of the resource ids of a page's first records, in order: equal fingerprints mean the same customers
// came first. Start from kEmptyFingerprint and extend it record by record.
inline constexpr uint64_t kEmptyFingerprint = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
uint64_t ExtendFingerprint(uint64_t fingerprint, absl::string_view resource_id);
uint64_t ExtendFingerprint(uint64_t fingerprint, const partnercenter::usage::v1::CustomerMonthlyUsageRecord& record);

struct StreamPosition {
  partner_center::PagePosition page;
  int64_t skip_records = 0;                            // records of `page` already delivered
  uint64_t delivered_fingerprint = kEmptyFingerprint;  // of those records
  // The authenticated caller it belongs to, typed ("key:alice", "cert:alice"); empty when callers are not
  // authenticated.
  std::string caller;
  // The shared snapshot the stream read from (empty for a live walk) and the index of `page` in it.
  std::string snapshot_id;
  int64_t snapshot_page_index = 0;
};

// Where a stream's records come from, as its first message tells the caller and its resume tokens remember.
struct StreamOrigin {
  absl::Time snapshot_time = absl::UnixEpoch();  // when the walk of Partner Center started
  bool shared = false;                           // the walk was started by another call
  std::string snapshot_id;                       // the shared snapshot read; empty for a walk no other call reads
};

class ResumeTokenCodec {
 public:
  // The shortest key accepted, in bytes.
  static constexpr std::size_t kMinKeyBytes = 32;

  // INVALID_ARGUMENT when `key` is shorter than kMinKeyBytes or `ttl` is not positive.
  static absl::StatusOr<std::unique_ptr<ResumeTokenCodec>> Create(absl::string_view key, absl::Duration ttl);

  // kMinKeyBytes random bytes from the operating system's generator.
  static absl::StatusOr<std::string> RandomKey();

  std::string Encode(const StreamPosition& position, absl::Time now) const;

  // INVALID_ARGUMENT when the token is malformed or signed with another key; FAILED_PRECONDITION when older than
  // the ttl (or issued in the future).
  absl::StatusOr<StreamPosition> Decode(absl::string_view token, absl::Time now) const;

 private:
  struct MacContextFree {
    void operator()(EVP_MAC_CTX* context) const;
  };
  using MacContext = std::unique_ptr<EVP_MAC_CTX, MacContextFree>;

  // An HMAC-SHA256 context keyed with `key`, for EVP_MAC_CTX_dup; null when OpenSSL cannot make one.
  static MacContext KeyedHmacSha256(absl::string_view key);
  ResumeTokenCodec(MacContext keyed, absl::Duration ttl) : keyed_(std::move(keyed)), ttl_(ttl) {}
  // The HMAC-SHA256 of `contents`; nullopt when OpenSSL fails (out of memory).
  std::optional<std::string> Sign(absl::string_view contents) const;

  const MacContext keyed_;  // only copied (EVP_MAC_CTX_dup), so shared by every thread
  const absl::Duration ttl_;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_RESUME_TOKEN_H_
