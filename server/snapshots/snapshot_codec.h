// A complete snapshot as one byte string, for a store shared between replicas (redis_snapshot_store.h): its id, its
// time and its pages exactly as the in-process store holds them (records' protobuf bytes, positions, links), so that
// a replica serving it sends the very bytes, positions and resume points the walking replica would, and a resume
// token naming the snapshot continues inside it on any replica. Also the marker
// a walk leaves when its snapshot was too large to share, and the entries of a walk's live stream (each page as it
// lands, then how the walk ended) that other replicas' callers follow. Decoding checks every length: bytes that are
// not an encoded snapshot or entry are DATA_LOSS, never a crash or a page made up.
#ifndef PCUSAGE_SERVER_SNAPSHOTS_SNAPSHOT_CODEC_H_
#define PCUSAGE_SERVER_SNAPSHOTS_SNAPSHOT_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/partner_center/page_source.h"

namespace pcusage::snapshots {

// What an encoded value starts with: the snapshot's id and time, and whether it holds pages or only says the walk
// was too large to share.
struct EncodedSnapshotHeader {
  std::string snapshot_id;
  absl::Time started;
  bool too_large = false;
};

// Appends pages to an encoding; Encoded() is the value to store.
class SnapshotEncoder {
 public:
  SnapshotEncoder(std::string snapshot_id, absl::Time started);
  // The page's encoding (valid until the next Add), which EncodeLivePage makes an entry of.
  absl::string_view Add(const partner_center::FetchedPage& fetched);
  // The pages' bytes so far.
  std::size_t size() const { return body_.size(); }
  // The size of Encoded() now, header included (a caller stops adding when it passes its bound).
  std::size_t encoded_size() const;
  std::string Encoded() const;

 private:
  std::string snapshot_id_;
  absl::Time started_;
  std::size_t pages_ = 0;
  std::string body_;
};

// The marker of a walk too large to share (replicas then walk on their own instead of waiting for it).
std::string EncodeTooLarge(const std::string& snapshot_id, absl::Time started);

absl::StatusOr<EncodedSnapshotHeader> DecodeSnapshotHeader(absl::string_view encoded);

// An entry of a walk's live stream: a page, each in order, then at most one of the others.
struct LiveEntry {
  enum class Kind {
    kPage,
    kEnd,      // every page was appended, `pages` of them; the snapshot is published as `snapshot_id` (unless lost)
    kFailed,   // the walk failed with `code` and ErrorInfo `reason` (its message is not shared)
    kStopped,  // the walk goes on, but its pages are no longer appended (too large to share, or Redis failed)
  };
  Kind kind = Kind::kPage;
  partner_center::FetchedPage page;
  std::string snapshot_id;
  int64_t pages = 0;
  absl::StatusCode code = absl::StatusCode::kUnknown;
  std::string reason;
};
// `encoded_page` is what SnapshotEncoder::Add returned for it.
std::string EncodeLivePage(absl::string_view encoded_page);
std::string EncodeLiveEnd(absl::string_view snapshot_id, int64_t pages);
std::string EncodeLiveFailed(absl::StatusCode code, absl::string_view reason);
std::string EncodeLiveStopped();
absl::StatusOr<LiveEntry> DecodeLiveEntry(absl::string_view encoded);
// The pages of a snapshot that is not a too-large marker.
absl::StatusOr<std::vector<partner_center::FetchedPage>> DecodeSnapshotPages(absl::string_view encoded);

}  // namespace pcusage::snapshots

#endif  // PCUSAGE_SERVER_SNAPSHOTS_SNAPSHOT_CODEC_H_
