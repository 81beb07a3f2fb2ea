#include "server/batch_writer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/error_details.h"
#include "server/metrics/pcusage_metrics.h"

namespace pcusage {

namespace v1 = ::partnercenter::usage::v1;

BatchWriter::BatchWriter(MessageSink sink, int batch_size, const ResumeTokenCodec& resume_tokens, std::string caller,
                         StreamPosition start, StreamOrigin origin, std::size_t max_record_bytes)
    : sink_(std::move(sink)),
      batch_size_(batch_size),
      max_record_bytes_(max_record_bytes),
      resume_tokens_(resume_tokens),
      caller_(std::move(caller)),
      start_(std::move(start)),
      origin_(std::move(origin)) {}

void BatchWriter::SetFilter(RecordFilter filter, int progress_pages) {
  filter_ = std::move(filter);
  progress_pages_ = std::max(progress_pages, 1);
}

absl::Status BatchWriter::WritePage(const partner_center::FetchedPage& fetched) {
  std::size_t next = 0;
  if (pages_ == 0) {
    total_count_ = fetched.page.total_count;
    if (start_.skip_records > 0) {
      absl::StatusOr<std::size_t> skipped = SkipDelivered(fetched);
      if (!skipped.ok()) return skipped.status();
      next = *skipped;
    }
  }
  ++pages_;
  // Even a page that adds no record moves the stream's position past it.
  waiting_position_ = PositionAfter(fetched, next);
  if (absl::Status added = AddRecords(fetched, next); !added.ok()) return added;
  ++pages_since_message_;
  if (filter_.has_value() && pages_since_message_ >= progress_pages_) return Send();
  return absl::OkStatus();
}

absl::Status BatchWriter::Flush() {
  if (waiting_records_ == 0 && messages_ > 0) return absl::OkStatus();
  return Send();
}

absl::Status BatchWriter::Finish() {
  if (waiting_records_ == 0 && messages_ > 0) return absl::OkStatus();
  return Send(/*last=*/true);
}

namespace {

// The fingerprint of the first `count` records of `records` (at most all of them).
uint64_t FingerprintOfFirst(const partner_center::PageRecords& records, std::size_t count) {
  uint64_t fingerprint = kEmptyFingerprint;
  for (std::size_t i = 0; i < std::min(count, records.size()); ++i) {
    fingerprint = ExtendFingerprint(fingerprint, records.ResourceId(i));
  }
  return fingerprint;
}

}  // namespace

absl::StatusOr<std::size_t> BatchWriter::SkipDelivered(const partner_center::FetchedPage& fetched) const {
  const partner_center::PageRecords& records = fetched.page.records;
  const auto skip = static_cast<std::size_t>(start_.skip_records);
  if (skip > records.size() || FingerprintOfFirst(records, skip) != start_.delivered_fingerprint) {
    return WithErrorInfo(absl::FailedPreconditionError(absl::StrCat(
                             "Partner Center's page ", fetched.position.page_number,
                             " no longer matches the resume_token (its records moved); list again from the start")),
                         reason::kResumeTokenExpired);
  }
  return skip;
}

absl::Status BatchWriter::AddRecords(const partner_center::FetchedPage& fetched, std::size_t next) {
  const partner_center::PageRecords& records = fetched.page.records;
  if (!filter_.has_value()) return AddRun(fetched, next, records.size());
  // Runs of consecutive records that pass, each added as one slice of the page's bytes.
  std::optional<std::size_t> run_start;
  for (std::size_t i = next; i < records.size(); ++i) {
    absl::StatusOr<bool> passes = Passes(records, i);
    if (!passes.ok()) return passes.status();
    if (*passes && !run_start.has_value()) run_start = i;
    if (!*passes && run_start.has_value()) {
      if (absl::Status added = AddRun(fetched, *run_start, i); !added.ok()) return added;
      run_start.reset();
    }
  }
  if (run_start.has_value()) {
    if (absl::Status added = AddRun(fetched, *run_start, records.size()); !added.ok()) return added;
  }
  // The records after the last one added were looked at too: the next message's token points past them.
  waiting_position_ = PositionAfter(fetched, records.size());
  return absl::OkStatus();
}

absl::StatusOr<bool> BatchWriter::Passes(const partner_center::PageRecords& records, std::size_t i) const {
  absl::StatusOr<partner_center::RecordFacts> facts = partner_center::ReadRecordFacts(records.Entries(i, i + 1));
  if (!facts.ok()) return facts.status();
  return filter_->Passes(*facts);
}

absl::Status BatchWriter::AddRun(const partner_center::FetchedPage& fetched, std::size_t next, std::size_t end_of_run) {
  const partner_center::PageRecords& records = fetched.page.records;
  while (next < end_of_run) {
    const std::size_t end = std::min(BatchEnd(records, next), end_of_run);
    if (end == next) {  // the waiting message has no room left: it ends before record `next`
      waiting_position_ = PositionAfter(fetched, next);
      if (absl::Status sent = Send(); !sent.ok()) return sent;
      continue;
    }
    const absl::string_view bytes = records.Entries(next, end);
    waiting_.records.push_back({bytes, records.KeepAlive()});
    waiting_records_ += end - next;
    waiting_bytes_ += bytes.size();
    waiting_position_ = PositionAfter(fetched, end);
    next = end;
    if (waiting_records_ == MessageRecordLimit()) {
      if (absl::Status sent = Send(); !sent.ok()) return sent;
    }
  }
  return absl::OkStatus();
}

std::size_t BatchWriter::MessageRecordLimit() const {
  return static_cast<std::size_t>(messages_ == 0 ? std::min(batch_size_, kFirstMessageMaxRecords) : batch_size_);
}

std::size_t BatchWriter::BatchEnd(const partner_center::PageRecords& records, std::size_t next) const {
  const std::size_t room = MessageRecordLimit() - waiting_records_;
  const std::size_t most = std::min(records.size(), next + room);
  std::size_t end = next;
  std::size_t bytes = waiting_bytes_;
  while (end < most) {
    bytes += records.Entries(end, end + 1).size();
    // Over the byte bound only with the message's first record, which must go somewhere.
    if (bytes > max_record_bytes_ && (end > next || waiting_records_ > 0)) break;
    ++end;
  }
  return end;
}

absl::Status BatchWriter::Send(bool last) {
  v1::ListUsageRecordsResponse fields;
  if (messages_ == 0) SetFirstMessageFields(fields);
  if (waiting_position_.has_value()) {
    fields.set_resume_token(resume_tokens_.Encode(*waiting_position_, absl::Now()));
  }
  waiting_.fields = fields.SerializeAsString();
  if (!sink_(waiting_, last)) {
    return WithErrorInfo(absl::CancelledError(absl::StrCat("the caller went away after ", records_, " records")),
                         reason::kCancelled);
  }
  ++messages_;
  pages_since_message_ = 0;
  metrics::MessageStreamed(static_cast<int64_t>(waiting_records_));
  records_ += static_cast<int64_t>(waiting_records_);
  waiting_.records.clear();
  waiting_records_ = 0;
  waiting_bytes_ = 0;
  return absl::OkStatus();
}

void BatchWriter::SetFirstMessageFields(v1::ListUsageRecordsResponse& fields) const {
  if (total_count_.has_value()) fields.set_partner_center_total_count(*total_count_);
  const absl::Duration since_epoch = origin_.snapshot_time - absl::UnixEpoch();
  fields.mutable_snapshot_time()->set_seconds(absl::ToInt64Seconds(since_epoch));
  fields.mutable_snapshot_time()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(since_epoch - absl::Seconds(absl::ToInt64Seconds(since_epoch)))));
  fields.set_from_shared_snapshot(origin_.shared);
}

StreamPosition BatchWriter::PositionAfter(const partner_center::FetchedPage& fetched, std::size_t delivered) const {
  StreamPosition position;
  position.caller = caller_;
  position.snapshot_id = origin_.snapshot_id;
  position.snapshot_page_index = fetched.index_in_walk;
  if (delivered == fetched.page.records.size() && fetched.next.has_value()) {
    position.page = *fetched.next;
    ++position.snapshot_page_index;
    return position;
  }
  position.page = fetched.position;
  position.skip_records = static_cast<int64_t>(delivered);
  // Computed only for positions inside a page, which few messages end at.
  position.delivered_fingerprint = FingerprintOfFirst(fetched.page.records, delivered);
  return position;
}

}  // namespace pcusage
