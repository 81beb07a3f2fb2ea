// Fuzzes resume token decoding (ResumeTokenCodec::Decode, server/resume_token.h) with a fixed key and clock. The
// seed corpus holds tokens Encode made with that key (tests/fuzz/corpus/resume_token/valid-*), so mutations of
// well-signed tokens are tried as well as arbitrary text.
//
// Beyond "no crash, no sanitizer report" it checks that:
// - Decode accepts only tokens Encode produces with the key: an accepted token is byte for byte what Encode gives
//   for the position it decoded to and the time it says it was issued (so a token cannot be altered, re-padded or
//   re-encoded and still be accepted), issued no longer than the ttl ago and at most 5 minutes ahead;
// - the position is well formed (page_number >= 1, skip_records >= 0, snapshot_page_index >= 0);
// - a position made from the input (strings as valid UTF-8, as they always are in pcusage) survives Encode then
//   Decode unchanged, and the same token under another key is refused.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/printable.h"
#include "server/resume_token.h"
#include "server/resume_token.pb.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using pcusage::ResumeTokenCodec;
using pcusage::StreamPosition;

// The corpus's tokens were made with this key, ttl and clock (issued at kNow or a little before it).
constexpr absl::string_view kKey = "pcusage-fuzz-resume-token-key-0123456789";
constexpr absl::string_view kOtherKey = "pcusage-fuzz-resume-token-key-9876543210";
const absl::Duration kTtl = absl::Hours(24);
const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

const ResumeTokenCodec& Codec(absl::string_view key) {
  static const ResumeTokenCodec* const codec = ResumeTokenCodec::Create(std::string(kKey), kTtl)->release();
  static const ResumeTokenCodec* const other = ResumeTokenCodec::Create(std::string(kOtherKey), kTtl)->release();
  return key == kKey ? *codec : *other;
}

bool SamePosition(const StreamPosition& a, const StreamPosition& b) {
  return a.page.url == b.page.url && a.page.headers == b.page.headers && a.page.page_number == b.page.page_number &&
         a.skip_records == b.skip_records && a.delivered_fingerprint == b.delivered_fingerprint &&
         a.caller == b.caller && a.snapshot_id == b.snapshot_id && a.snapshot_page_index == b.snapshot_page_index;
}

void CheckDecode(absl::string_view token) {
  absl::StatusOr<StreamPosition> position = Codec(kKey).Decode(token, kNow);
  if (!position.ok()) {
    FUZZ_CHECK(position.status().code() == absl::StatusCode::kInvalidArgument ||
                   position.status().code() == absl::StatusCode::kFailedPrecondition,
               "%s", position.status().ToString().c_str());
    return;
  }
  FUZZ_CHECK(position->page.page_number >= 1 && position->skip_records >= 0 && position->snapshot_page_index >= 0,
             "accepted a malformed position");
  // When it was issued, from the token itself (Decode has checked its signature).
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  FUZZ_CHECK(parts.size() == 3, "accepted a token of %zu parts", parts.size());
  std::string serialized;
  pcusage::internal::ResumeTokenContents contents;
  FUZZ_CHECK(absl::WebSafeBase64Unescape(parts[1], &serialized) && contents.ParseFromString(serialized),
             "accepted a token whose contents do not parse");
  const absl::Time issued = absl::FromUnixSeconds(contents.issued_unix_seconds());
  FUZZ_CHECK(kNow - issued <= kTtl && issued - kNow <= absl::Minutes(5), "accepted a token issued %s",
             absl::FormatTime(issued).c_str());
  const std::string encoded = Codec(kKey).Encode(*position, issued);
  FUZZ_CHECK(encoded == token, "accepted \"%s\", which Encode writes \"%s\"", std::string(token).c_str(),
             encoded.c_str());
  FUZZ_CHECK(!Codec(kOtherKey).Decode(token, kNow).ok(), "another key accepted the token");
}

void CheckRoundTrip(const uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  StreamPosition position;
  position.page.page_number = provider.ConsumeIntegralInRange<int>(1, std::numeric_limits<int>::max());
  position.skip_records = provider.ConsumeIntegralInRange<int64_t>(0, std::numeric_limits<int64_t>::max());
  position.delivered_fingerprint = provider.ConsumeIntegral<uint64_t>();
  position.snapshot_page_index = provider.ConsumeIntegralInRange<int64_t>(0, std::numeric_limits<int64_t>::max());
  const absl::Duration age = absl::Seconds(provider.ConsumeIntegralInRange<int64_t>(-300, 86400));
  position.page.url = pcusage::ValidUtf8(provider.ConsumeRandomLengthString(512));
  position.caller = pcusage::ValidUtf8(provider.ConsumeRandomLengthString(64));
  position.snapshot_id = pcusage::ValidUtf8(provider.ConsumeRandomLengthString(64));
  while (provider.remaining_bytes() > 0) {
    std::string name = pcusage::ValidUtf8(provider.ConsumeRandomLengthString(32));
    std::string value = pcusage::ValidUtf8(provider.ConsumeRandomLengthString(256));
    position.page.headers.push_back({std::move(name), std::move(value)});
  }
  const std::string token = Codec(kKey).Encode(position, kNow - age);
  absl::StatusOr<StreamPosition> decoded = Codec(kKey).Decode(token, kNow);
  FUZZ_CHECK(decoded.ok(), "Encode's own token refused: %s", decoded.status().ToString().c_str());
  FUZZ_CHECK(SamePosition(*decoded, position), "the position changed on its way through a token");
  FUZZ_CHECK(!Codec(kOtherKey).Decode(token, kNow).ok(), "another key accepted the token");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  CheckDecode(absl::string_view(reinterpret_cast<const char*>(data), size));
  CheckRoundTrip(data, size);
  return 0;
}
