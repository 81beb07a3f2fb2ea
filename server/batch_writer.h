// Turns pages into the messages of one ListUsageRecords stream: batches of at most `batch_size` records (the first
// at most kFirstMessageMaxRecords) and `max_record_bytes` bytes of them (at least one record), each with the signed
// resume token of the position after it. A message holds records of consecutive Partner Center pages only when the
// caller had the next page at hand (it never waits for a page to fill a message). Resume bookkeeping lives here: a
// resumed stream skips the records of its first page that the token says were delivered, after checking that page still
// starts with the same customers. A call's filter (record_filter.h) decides which records go out; the stream's position
// still moves over every record, sent or not. Knows nothing of gRPC.
#ifndef PCUSAGE_SERVER_BATCH_WRITER_H_
#define PCUSAGE_SERVER_BATCH_WRITER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "partnercenter/usage/v1/usage_records.pb.h"
#include "server/partner_center/page_source.h"
#include "server/record_filter.h"
#include "server/resume_token.h"

namespace pcusage {

// The most bytes a message's records take: well under the 4 MiB gRPC clients accept by default.
inline constexpr std::size_t kMaxMessageRecordBytes = 1 << 20;

// The most records the stream's first message takes, whatever the batch size: a caller's first record then waits
// for the translation and transfer of this many, not of a whole batch of 1000.
inline constexpr int kFirstMessageMaxRecords = 100;

// A filtered stream sends a message, with no records if none passed, whenever this many Partner Center pages have gone
// by without one: its resume token moves past records that did not pass, so a resume does not look at them again,
// and the caller sees the stream advance.
inline constexpr int kFilteredProgressPages = 10;

class BatchWriter {
 public:
  // One message, a ListUsageRecordsResponse in parts: its records' bytes, a slice per page they come from, shared with
  // the page rather than copied (`keep_alive` holds them), then its other fields, serialized.
  struct RecordBytes {
    absl::string_view bytes;
    std::shared_ptr<const void> keep_alive;
  };
  struct Message {
    std::vector<RecordBytes> records;
    std::string fields;
  };
  // Sends one message (`last`: the stream's final one, which may go out with its status); false when the caller has
  // gone away.
  using MessageSink = std::function<bool(const Message& message, bool last)>;

  // `caller` is whom the resume tokens belong to (empty when callers are not authenticated); `start` is where the
  // stream starts (skip_records > 0 for a stream resumed inside a page).
  BatchWriter(MessageSink sink, int batch_size, const ResumeTokenCodec& resume_tokens, std::string caller,
              StreamPosition start, StreamOrigin origin = {}, std::size_t max_record_bytes = kMaxMessageRecordBytes);

  // Sends only the records that pass `filter`, and a message at least every `progress_pages` pages (with no records
  // when none passed). Call before the first page.
  void SetFilter(RecordFilter filter, int progress_pages = kFilteredProgressPages);

  // Adds `fetched`'s records, sending every message they fill; what is left waits for the next page or Flush().
  // FAILED_PRECONDITION (RESUME_TOKEN_EXPIRED) when the first page of a resumed stream no longer starts as the token
  // recorded; CANCELLED (CALL_CANCELLED) when the sink refuses.
  absl::Status WritePage(const partner_center::FetchedPage& fetched);

  // Sends the records still waiting, if any. The first message of the stream is always sent, even when there are no
  // records, and carries Partner Center's totalCount and the origin's snapshot_time and from_shared_snapshot. Call
  // it whenever the next page is not at hand, and after the last page.
  absl::Status Flush();

  // Flush() after the last page: the message sent, if any, is the stream's last.
  absl::Status Finish();

  int64_t records() const { return records_; }
  int pages() const { return pages_; }

 private:
  // For the first page of a resumed stream: checks and skips the records delivered before; returns the index of
  // the first record to send.
  absl::StatusOr<std::size_t> SkipDelivered(const partner_center::FetchedPage& fetched) const;
  // Adds the records of the page from `next` on (those that pass the filter, if any) to the waiting message.
  absl::Status AddRecords(const partner_center::FetchedPage& fetched, std::size_t next);
  // Adds records [next, end) of the page to the waiting message, sending it whenever it is full.
  absl::Status AddRun(const partner_center::FetchedPage& fetched, std::size_t next, std::size_t end);
  // Whether record `i` of the page passes the filter; INTERNAL when its bytes cannot be read.
  absl::StatusOr<bool> Passes(const partner_center::PageRecords& records, std::size_t i) const;
  // Where the batch starting at record `next` ends: as many records as the waiting message has room for.
  std::size_t BatchEnd(const partner_center::PageRecords& records, std::size_t next) const;
  // The most records the waiting message may take: kFirstMessageMaxRecords for the first, batch_size after.
  std::size_t MessageRecordLimit() const;
  absl::Status Send(bool last = false);
  // Partner Center's totalCount and where the records come from.
  void SetFirstMessageFields(partnercenter::usage::v1::ListUsageRecordsResponse& fields) const;
  // The position after the first `delivered` records of `fetched`: inside the page, or the start of the next one.
  StreamPosition PositionAfter(const partner_center::FetchedPage& fetched, std::size_t delivered) const;

  MessageSink sink_;
  int batch_size_;
  std::size_t max_record_bytes_;
  const ResumeTokenCodec& resume_tokens_;
  std::string caller_;
  StreamPosition start_;
  StreamOrigin origin_;
  std::optional<int64_t> total_count_;  // of the stream's first page
  // The message waiting to be sent: its records, how many and how many bytes, and the position after them.
  Message waiting_;
  std::size_t waiting_records_ = 0;
  std::size_t waiting_bytes_ = 0;
  std::optional<StreamPosition> waiting_position_;
  std::optional<RecordFilter> filter_;
  int progress_pages_ = kFilteredProgressPages;
  int pages_since_message_ = 0;  // pages written whole since the last message was sent
  int messages_ = 0;
  int64_t records_ = 0;
  int pages_ = 0;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_BATCH_WRITER_H_
