// Resume tokens for ListUsageRecords: a stream's position (a Partner Center page and how many of its records were
// delivered), signed with HMAC-SHA256 so that only a server holding the key accepts it, and stamped so it expires.
#ifndef PCUSAGE_SERVER_RESUME_TOKEN_H_
#define PCUSAGE_SERVER_RESUME_TOKEN_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/partner_center/usage_client.h"

namespace pcusage {

struct StreamPosition {
  partner_center::PagePosition page;
  int64_t skip_records = 0;      // records of `page` already delivered
  std::string last_resource_id;  // the last of those, empty when none
};

class ResumeTokenCodec {
 public:
  // The shortest key accepted, in bytes.
  static constexpr std::size_t kMinKeyBytes = 32;

  // INVALID_ARGUMENT when `key` is shorter than kMinKeyBytes or `ttl` is not positive.
  static absl::StatusOr<std::unique_ptr<ResumeTokenCodec>> Create(std::string key, absl::Duration ttl);

  // kMinKeyBytes random bytes from the operating system's generator.
  static absl::StatusOr<std::string> RandomKey();

  std::string Encode(const StreamPosition& position, absl::Time now) const;

  // INVALID_ARGUMENT when the token is malformed or signed with another key; FAILED_PRECONDITION when older than
  // the ttl (or issued in the future).
  absl::StatusOr<StreamPosition> Decode(absl::string_view token, absl::Time now) const;

 private:
  ResumeTokenCodec(std::string key, absl::Duration ttl) : key_(std::move(key)), ttl_(ttl) {}
  std::string Sign(absl::string_view contents) const;

  const std::string key_;
  const absl::Duration ttl_;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_RESUME_TOKEN_H_
