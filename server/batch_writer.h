// Turns pages into the messages of one ListUsageRecords stream: batches of at most `batch_size` records and
// `max_record_bytes` bytes of them (at least one record; a message never spans two Partner Center pages), each with the
// signed resume token of the position after it. Resume bookkeeping lives here: a resumed stream skips the records of
// its first page that the token says were delivered, after checking that page still starts with the same customers.
// Knows nothing of gRPC.
#ifndef PCUSAGE_SERVER_BATCH_WRITER_H_
#define PCUSAGE_SERVER_BATCH_WRITER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "partnercenter/usage/v1/usage_records.pb.h"
#include "server/partner_center/page_source.h"
#include "server/resume_token.h"

namespace pcusage {

// The most bytes a message's records take: well under the 4 MiB gRPC clients accept by default.
inline constexpr std::size_t kMaxMessageRecordBytes = 1 << 20;

class BatchWriter {
 public:
  // One message, a ListUsageRecordsResponse in two parts: its records' bytes, shared with the page rather than copied
  // (`keep_alive` holds them), then its other fields, serialized.
  struct Message {
    absl::string_view records;
    std::shared_ptr<const void> keep_alive;
    std::string fields;
  };
  // Sends one message; false when the caller has gone away.
  using MessageSink = std::function<bool(const Message& message)>;

  // `caller` is whom the resume tokens belong to (empty when callers are not authenticated); `start` is where the
  // stream starts (skip_records > 0 for a stream resumed inside a page).
  BatchWriter(MessageSink sink, int batch_size, const ResumeTokenCodec& resume_tokens, std::string caller,
              StreamPosition start, StreamOrigin origin = {},
              std::size_t max_record_bytes = kMaxMessageRecordBytes);

  // Writes `fetched`'s records. The first message of the stream is always sent, even for an empty page, and
  // carries Partner Center's totalCount and the origin's snapshot_time and from_shared_snapshot. FAILED_PRECONDITION (RESUME_TOKEN_EXPIRED) when the first page of a
  // resumed stream no longer starts as the token recorded; CANCELLED (CALL_CANCELLED) when the sink refuses.
  absl::Status WritePage(const partner_center::FetchedPage& fetched);

  int64_t records() const { return records_; }
  int pages() const { return pages_; }

 private:
  // For the first page of a resumed stream: checks and skips the records delivered before; returns the index of
  // the first record to send.
  absl::StatusOr<std::size_t> SkipDelivered(const partner_center::FetchedPage& fetched);
  absl::Status WriteBatches(const partner_center::FetchedPage& fetched, std::size_t next);
  // Partner Center's totalCount and where the records come from.
  void SetFirstMessageFields(const partner_center::FetchedPage& fetched,
                             partnercenter::usage::v1::ListUsageRecordsResponse& fields) const;
  // Where the batch starting at record `next` ends: batch_size records, or fewer to stay under max_record_bytes.
  std::size_t BatchEnd(const partner_center::PageRecords& records, std::size_t next) const;
  // The position after the first `delivered` records of `fetched`: inside the page, or the start of the next one.
  StreamPosition PositionAfter(const partner_center::FetchedPage& fetched, std::size_t delivered) const;

  MessageSink sink_;
  int batch_size_;
  std::size_t max_record_bytes_;
  const ResumeTokenCodec& resume_tokens_;
  std::string caller_;
  StreamPosition start_;
  StreamOrigin origin_;
  uint64_t fingerprint_ = kEmptyFingerprint;  // of the current page's records written so far
  std::string message_;                       // the message being written, its buffer reused
  int messages_ = 0;
  int64_t records_ = 0;
  int pages_ = 0;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_BATCH_WRITER_H_
