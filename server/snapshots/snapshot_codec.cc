#include "server/snapshots/snapshot_codec.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/base/internal/endian.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pcusage::snapshots {
namespace {

constexpr absl::string_view kMagic = "pcusage-snapshot/2";
constexpr char kPages = 'P';
constexpr char kTooLarge = 'L';
// Version 2: the end entry carries the walk's page count (a version-1 entry does not decode: a lost walk).
constexpr absl::string_view kLiveMagic = "pcusage-live/2";
constexpr char kLivePage = 'P';
constexpr char kLiveEnd = 'E';
constexpr char kLiveFailed = 'F';
constexpr char kLiveStopped = 'S';

void PutU64(std::string& out, uint64_t value) {
  char bytes[8];
  absl::little_endian::Store64(bytes, value);
  out.append(bytes, sizeof(bytes));
}
void PutBytes(std::string& out, absl::string_view bytes) {
  PutU64(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}
void PutPosition(std::string& out, const partner_center::PagePosition& position) {
  PutBytes(out, position.url);
  PutU64(out, position.headers.size());
  for (const http::HttpHeader& header : position.headers) {
    PutBytes(out, header.name);
    PutBytes(out, header.value);
  }
  PutU64(out, static_cast<uint64_t>(static_cast<int64_t>(position.page_number)));
}

// A page: what ReadPage reads.
void PutPage(std::string& out, const partner_center::FetchedPage& fetched) {
  PutU64(out, static_cast<uint64_t>(fetched.index_in_walk));
  PutPosition(out, fetched.position);
  out.push_back(fetched.next.has_value() ? 1 : 0);
  if (fetched.next.has_value()) PutPosition(out, *fetched.next);
  const partner_center::UsageRecordsPage& page = fetched.page;
  out.push_back(page.total_count.has_value() ? 1 : 0);
  if (page.total_count.has_value()) PutU64(out, static_cast<uint64_t>(*page.total_count));
  out.push_back(page.next.has_value() ? 1 : 0);
  if (page.next.has_value()) {
    PutBytes(out, page.next->uri);
    PutU64(out, page.next->headers.size());
    for (const http::HttpHeader& header : page.next->headers) {
      PutBytes(out, header.name);
      PutBytes(out, header.value);
    }
  }
  PutU64(out, page.records.size());
  for (std::size_t i = 0; i < page.records.size(); ++i) {
    PutBytes(out, page.records.Entries(i, i + 1));
    PutBytes(out, page.records.ResourceId(i));
  }
}

std::string Header(char kind, absl::string_view snapshot_id, absl::Time started, uint64_t pages) {
  std::string out(kMagic);
  out.push_back(kind);
  PutBytes(out, snapshot_id);
  PutU64(out, static_cast<uint64_t>(absl::ToUnixNanos(started)));
  PutU64(out, pages);
  return out;
}

// Reads what the Put* functions wrote; every read checks what is left.
class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool AtEnd() const { return in_.empty(); }
  // Whether the input starts with `prefix`, which is then read.
  bool Consume(absl::string_view prefix) {
    if (!absl::StartsWith(in_, prefix)) return false;
    in_.remove_prefix(prefix.size());
    return true;
  }

  uint64_t U64() {
    if (in_.size() < 8) return Fail();
    const uint64_t value = absl::little_endian::Load64(in_.data());
    in_.remove_prefix(8);
    return value;
  }
  char Byte() {
    if (in_.empty()) return static_cast<char>(Fail());
    const char value = in_.front();
    in_.remove_prefix(1);
    return value;
  }
  absl::string_view Bytes() {
    const uint64_t size = U64();
    if (!ok_ || size > in_.size()) return Fail(), absl::string_view();
    absl::string_view bytes = in_.substr(0, size);
    in_.remove_prefix(size);
    return bytes;
  }
  // A count of items each taking at least `min_item_bytes`: no more than what is left can hold.
  uint64_t Count(std::size_t min_item_bytes) {
    const uint64_t count = U64();
    if (!ok_ || count > in_.size() / min_item_bytes) return Fail();
    return count;
  }
  partner_center::PagePosition Position() {
    partner_center::PagePosition position;
    position.url = std::string(Bytes());
    const uint64_t headers = Count(16);
    for (uint64_t i = 0; ok_ && i < headers; ++i) {
      http::HttpHeader header;
      header.name = std::string(Bytes());
      header.value = std::string(Bytes());
      position.headers.push_back(std::move(header));
    }
    position.page_number = static_cast<int>(static_cast<int64_t>(U64()));
    return position;
  }
  bool Flag() {
    const char flag = Byte();
    if (flag != 0 && flag != 1) return Fail();
    return flag == 1;
  }

 private:
  uint64_t Fail() {
    ok_ = false;
    in_ = {};
    return 0;
  }
  absl::string_view in_;
  bool ok_ = true;
};

absl::Status Garbled(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("a shared snapshot read from the store is garbled (", what, ")"));
}

// A record's `usage_records` entry (tag 1, length, record) without its tag and length.
std::optional<absl::string_view> RecordOfEntry(absl::string_view entry) {
  if (entry.empty() || entry.front() != '\x0a') return std::nullopt;
  entry.remove_prefix(1);
  uint64_t length = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (entry.empty()) return std::nullopt;
    const auto byte = static_cast<unsigned char>(entry.front());
    entry.remove_prefix(1);
    length |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (length != entry.size()) return std::nullopt;
  return entry;
}

// A page as PutPage wrote it; a record that is not one is DATA_LOSS (`in` not ok: the caller says so).
absl::StatusOr<partner_center::FetchedPage> ReadPage(Reader& in) {
  partner_center::FetchedPage fetched;
  fetched.index_in_walk = static_cast<int64_t>(in.U64());
  fetched.position = in.Position();
  if (in.Flag()) fetched.next = in.Position();
  if (in.Flag()) fetched.page.total_count = static_cast<int64_t>(in.U64());
  if (in.Flag()) {
    partner_center::NextPageLink link;
    link.uri = std::string(in.Bytes());
    const uint64_t headers = in.Count(16);
    for (uint64_t i = 0; in.ok() && i < headers; ++i) {
      http::HttpHeader h;
      h.name = std::string(in.Bytes());
      h.value = std::string(in.Bytes());
      link.headers.push_back(std::move(h));
    }
    fetched.page.next = std::move(link);
  }
  const uint64_t records = in.Count(16);
  for (uint64_t i = 0; in.ok() && i < records; ++i) {
    const absl::string_view entry = in.Bytes();
    const absl::string_view resource_id = in.Bytes();
    std::optional<absl::string_view> record = RecordOfEntry(entry);
    if (!in.ok()) break;
    if (!record.has_value()) return Garbled("a record");
    fetched.page.records.AppendSerialized(*record, resource_id);
  }
  fetched.page.records.ShrinkToFit();
  return fetched;
}

// Reads the header of an encoded value, leaving `in` at the page count.
absl::StatusOr<EncodedSnapshotHeader> ReadHeader(Reader& in) {
  if (!in.Consume(kMagic)) return Garbled("not a snapshot");
  const char kind = in.Byte();
  EncodedSnapshotHeader header;
  header.snapshot_id = std::string(in.Bytes());
  const auto started = static_cast<int64_t>(in.U64());
  if (!in.ok() || (kind != kPages && kind != kTooLarge)) return Garbled("header");
  header.started = absl::FromUnixNanos(started);
  header.too_large = kind == kTooLarge;
  return header;
}

}  // namespace

SnapshotEncoder::SnapshotEncoder(std::string snapshot_id, absl::Time started)
    : snapshot_id_(std::move(snapshot_id)), started_(started) {}

absl::string_view SnapshotEncoder::Add(const partner_center::FetchedPage& fetched) {
  ++pages_;
  const std::size_t start = body_.size();
  PutPage(body_, fetched);
  return absl::string_view(body_).substr(start);
}

std::size_t SnapshotEncoder::encoded_size() const {
  return kMagic.size() + 1 + 8 + snapshot_id_.size() + 8 + 8 + body_.size();  // what Header() writes, and the pages
}

std::string SnapshotEncoder::Encoded() const { return Header(kPages, snapshot_id_, started_, pages_) + body_; }

std::string EncodeTooLarge(const std::string& snapshot_id, absl::Time started) {
  return Header(kTooLarge, snapshot_id, started, 0);
}

std::string EncodeLivePage(absl::string_view encoded_page) {
  return absl::StrCat(kLiveMagic, absl::string_view(&kLivePage, 1), encoded_page);
}
std::string EncodeLiveEnd(absl::string_view snapshot_id, int64_t pages) {
  std::string out = absl::StrCat(kLiveMagic, absl::string_view(&kLiveEnd, 1));
  PutBytes(out, snapshot_id);
  PutU64(out, static_cast<uint64_t>(pages));
  return out;
}
std::string EncodeLiveFailed(absl::StatusCode code, absl::string_view reason) {
  std::string out = absl::StrCat(kLiveMagic, absl::string_view(&kLiveFailed, 1));
  PutU64(out, static_cast<uint64_t>(code));
  PutBytes(out, reason);
  return out;
}
std::string EncodeLiveStopped() { return absl::StrCat(kLiveMagic, absl::string_view(&kLiveStopped, 1)); }

absl::StatusOr<LiveEntry> DecodeLiveEntry(absl::string_view encoded) {
  Reader in(encoded);
  if (!in.Consume(kLiveMagic)) return Garbled("not a live entry");
  LiveEntry entry;
  switch (in.Byte()) {
    case kLivePage: {
      entry.kind = LiveEntry::Kind::kPage;
      absl::StatusOr<partner_center::FetchedPage> page = ReadPage(in);
      if (!page.ok()) return page.status();
      entry.page = *std::move(page);
      break;
    }
    case kLiveEnd:
      entry.kind = LiveEntry::Kind::kEnd;
      entry.snapshot_id = std::string(in.Bytes());
      entry.pages = static_cast<int64_t>(in.U64());
      if (entry.pages < 0) return Garbled("a page count");
      break;
    case kLiveFailed: {
      entry.kind = LiveEntry::Kind::kFailed;
      const uint64_t code = in.U64();
      if (code == 0 || code > static_cast<uint64_t>(absl::StatusCode::kUnauthenticated)) return Garbled("a code");
      entry.code = static_cast<absl::StatusCode>(code);
      entry.reason = std::string(in.Bytes());
      break;
    }
    case kLiveStopped:
      entry.kind = LiveEntry::Kind::kStopped;
      break;
    default:
      return Garbled("a live entry's kind");
  }
  if (!in.ok() || !in.AtEnd()) return Garbled("a live entry");
  return entry;
}

absl::StatusOr<EncodedSnapshotHeader> DecodeSnapshotHeader(absl::string_view encoded) {
  Reader in(encoded);
  return ReadHeader(in);
}

absl::StatusOr<std::vector<partner_center::FetchedPage>> DecodeSnapshotPages(absl::string_view encoded) {
  Reader in(encoded);
  absl::StatusOr<EncodedSnapshotHeader> header = ReadHeader(in);
  if (!header.ok()) return header.status();
  if (header->too_large) return Garbled("a too-large marker has no pages");
  const uint64_t count = in.Count(40);  // a page takes at least 43 bytes
  std::vector<partner_center::FetchedPage> pages;
  for (uint64_t p = 0; in.ok() && p < count; ++p) {
    absl::StatusOr<partner_center::FetchedPage> page = ReadPage(in);
    if (!page.ok()) return page.status();
    pages.push_back(*std::move(page));
  }
  if (!in.ok() || !in.AtEnd()) return Garbled("pages");
  return pages;
}

}  // namespace pcusage::snapshots
