// Translates one page of Partner Center's usage-records collection (JSON bytes) into protobuf records, keeping
// every decimal digit exactly as sent. Pure: bytes in, a page or an error naming the offending field out.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_USAGE_RECORDS_PARSER_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_USAGE_RECORDS_PARSER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "partnercenter/usage/v1/usage_records.pb.h"
#include "server/http/http_header.h"

namespace pcusage::partner_center {

// Partner Center's `links.next`: where the following page is and the headers (such as MS-ContinuationToken) to
// send with that request. `uri` is as sent, usually relative to the API root.
struct NextPageLink {
  std::string uri;
  std::vector<http::HttpHeader> headers;
};

// The records of one page, already in protobuf wire format: the translator writes each record's bytes once, as a
// `usage_records` entry of ListUsageRecordsResponse (tag, length, CustomerMonthlyUsageRecord), back to back, so a
// batch of consecutive records is one contiguous run of bytes that goes to the caller as it is. Copies share the
// bytes (a page read by many callers is held once); changing a copy gives it bytes of its own. Parsed records are
// decoded only when asked for (tests and tools), never on the streaming path. Thread safe for readers.
class PageRecords {
 public:
  using Record = partnercenter::usage::v1::CustomerMonthlyUsageRecord;

  std::size_t size() const { return storage_ ? storage_->entries.size() : 0; }
  bool empty() const { return size() == 0; }

  // Records [begin, end) as consecutive `usage_records` entries of a ListUsageRecordsResponse. The bytes stay valid
  // while this object, a copy of it, or KeepAlive() is held.
  absl::string_view Entries(std::size_t begin, std::size_t end) const;
  // The resource id of record `i` (what resume fingerprints are made of).
  absl::string_view ResourceId(std::size_t i) const;
  // Holds the bytes Entries() points into, for a writer that sends them without copying.
  std::shared_ptr<const void> KeepAlive() const { return storage_; }

  // Record `i`, parsed; all records are decoded on first use.
  const Record& operator[](std::size_t i) const { return Decoded()[i]; }
  auto begin() const { return Decoded().begin(); }
  auto end() const { return Decoded().end(); }

  // Appends one record, given as its serialized CustomerMonthlyUsageRecord and its resource id.
  void AppendSerialized(absl::string_view record, absl::string_view resource_id);
  // Appends one record (for tests and tools that build pages).
  void Append(const Record& record);
  void Clear();
  // Makes room for `bytes` of serialized records (a page's records take somewhat less than its JSON) and for
  // `records` records, so that the page does not pass through copies of itself as it grows.
  void Reserve(std::size_t bytes, std::size_t records = 0);

  // Gives back what Reserve() set aside beyond the records, for pages held long (a page's JSON is larger than its
  // records' bytes).
  void ShrinkToFit();

  // The bytes the records take, for memory accounting.
  std::size_t bytes() const;

 private:
  // Where record i's entry (tag included) and resource id end in wire and resource_ids; they start where record
  // i - 1's end (0 for the first).
  struct Entry {
    std::size_t end;
    std::size_t resource_id_end;
  };
  struct Storage {
    std::string wire;
    std::string resource_ids;  // every record's resource id, back to back
    std::vector<Entry> entries;
    absl::once_flag decoded_once;
    std::vector<Record> decoded;  // filled once by Decoded(), for the accessors above
    std::atomic<bool> was_decoded{false};
  };
  // The storage, made this object's own before a change.
  Storage& Mutable();
  const std::vector<Record>& Decoded() const;

  std::shared_ptr<Storage> storage_;
};

struct UsageRecordsPage {
  // Every item of the page, in order.
  PageRecords records;
  // The page's `totalCount`, Partner Center's own figure (not the item count).
  std::optional<int64_t> total_count;
  // Absent on the last page.
  std::optional<NextPageLink> next;
};

// The largest record accepted, serialized; Partner Center's take about a kilobyte. A bound, so that a message of
// records always fits in what gRPC clients accept (4 MiB by default).
inline constexpr std::size_t kMaxRecordBytes = 256 << 10;

// The deepest nesting accepted where records are read (a record's fields, `links`); Partner Center's go 4 deep.
inline constexpr int kMaxKeptDepth = 16;

// The most records a page may hold: one for every kMinPageBytesPerRecord bytes of its JSON (Partner Center's take
// about 840), and kMinMaxPageRecords whatever its size. What is kept for each record besides its bytes is then a
// small part of the page; a page of `{}` records would otherwise cost many times its size (docs/security.md,
// "Limits").
inline constexpr std::size_t kMinPageBytesPerRecord = 64;
inline constexpr std::size_t kMinMaxPageRecords = 4096;
inline constexpr std::size_t MaxPageRecords(std::size_t page_bytes) {
  return page_bytes / kMinPageBytesPerRecord > kMinMaxPageRecords ? page_bytes / kMinPageBytesPerRecord
                                                                  : kMinMaxPageRecords;
}

// Translates a page straight from the JSON text (simdjson On-Demand) into protobuf wire format, with no tree and no
// message objects: each number's source text kept, unknown members skipped without being stored (however large or
// deep), `null` as absent, member names matched case-insensitively, and of a member sent twice the last one counts.
// A value of the wrong type, a record larger than kMaxRecordBytes, more records than MaxPageRecords(json.size()),
// malformed JSON in what is read (invalid UTF-8 anywhere included), or a page that is not a collection gives
// INVALID_ARGUMENT naming the field path, e.g. "items[1].budget.amount: ...". The grammar inside a skipped member is
// not checked (On-Demand skips it by its brackets: `"x":[1 2}` passes), which cannot change a record read.
absl::StatusOr<UsageRecordsPage> ParseUsageRecordsPage(absl::string_view json);

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_USAGE_RECORDS_PARSER_H_
