#include "server/batch_writer.h"

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_details.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;
using ::testing::ElementsAre;

partner_center::FetchedPage MakePage(int number, const std::vector<std::string>& ids, bool has_next) {
  partner_center::FetchedPage page;
  page.position.url = "https://pc.example.test/v1/customers/usagerecords";
  page.position.page_number = number;
  for (const std::string& id : ids) {
    v1::CustomerMonthlyUsageRecord record;
    record.set_resource_id(id);
    page.page.records.Append(record);
  }
  page.page.total_count = 42;
  if (has_next) {
    page.next = page.position;
    page.next->headers = {{"MS-ContinuationToken", absl::StrCat("t", number + 1)}};
    page.next->page_number = number + 1;
  }
  return page;
}

class BatchWriterTest : public ::testing::Test {
 protected:
  BatchWriter Writer(int batch_size, StreamPosition start = {}, std::size_t max_record_bytes = kMaxMessageRecordBytes,
                     StreamOrigin origin = {}) {
    return BatchWriter(
        [this](const BatchWriter::Message& message, bool last) {
          lasts_.push_back(last);
          std::string bytes;
          for (const BatchWriter::RecordBytes& records : message.records) absl::StrAppend(&bytes, records.bytes);
          EXPECT_TRUE(messages_.emplace_back().ParseFromString(absl::StrCat(bytes, message.fields)));
          return accept_;
        },
        batch_size, *codec_, "alice", std::move(start), std::move(origin), max_record_bytes);
  }

  std::vector<std::vector<std::string>> Batches() const {
    std::vector<std::vector<std::string>> batches;
    for (const auto& message : messages_) {
      std::vector<std::string>& ids = batches.emplace_back();
      for (const auto& record : message.usage_records()) ids.push_back(record.resource_id());
    }
    return batches;
  }

  StreamPosition Decode(const v1::ListUsageRecordsResponse& message) const {
    return codec_->Decode(message.resume_token(), absl::Now()).value();
  }

  // Writes the page as the service does when the next page is not at hand yet: then flushes.
  static absl::Status WriteAlone(BatchWriter& writer, const partner_center::FetchedPage& page) {
    absl::Status written = writer.WritePage(page);
    return written.ok() ? writer.Flush() : written;
  }

  std::unique_ptr<ResumeTokenCodec> codec_ = ResumeTokenCodec::Create(std::string(32, 'k'), absl::Hours(1)).value();
  std::vector<v1::ListUsageRecordsResponse> messages_;
  std::vector<bool> lasts_;  // whether each message was sent as the stream's last
  bool accept_ = true;
};

TEST_F(BatchWriterTest, WithoutTheNextPageAtHandABatchEndsWithItsPageAndOnlyTheFirstCarriesTheTotalCount) {
  BatchWriter writer = Writer(2);
  ASSERT_TRUE(WriteAlone(writer, MakePage(1, {"a", "b", "c"}, true)).ok());
  ASSERT_TRUE(WriteAlone(writer, MakePage(2, {"d"}, false)).ok());
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("a", "b"), ElementsAre("c"), ElementsAre("d")));
  EXPECT_EQ(messages_[0].partner_center_total_count(), 42);
  EXPECT_EQ(messages_[1].partner_center_total_count(), 0);
  EXPECT_EQ(writer.records(), 4);
  EXPECT_EQ(writer.pages(), 2);
}

TEST_F(BatchWriterTest, WithTheNextPageAtHandABatchTakesRecordsOfBothAndItsTokenResumesInTheSecond) {
  BatchWriter writer = Writer(2);
  ASSERT_TRUE(writer.WritePage(MakePage(1, {"a", "b", "c"}, true)).ok());
  ASSERT_TRUE(writer.WritePage(MakePage(2, {"d", "e"}, false)).ok());
  ASSERT_TRUE(writer.Flush().ok());
  ASSERT_TRUE(writer.Flush().ok());  // nothing left: no empty message
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("a", "b"), ElementsAre("c", "d"), ElementsAre("e")));
  EXPECT_EQ(writer.records(), 5);
  const StreamPosition after_d = Decode(messages_[1]);
  EXPECT_EQ(after_d.page.page_number, 2);
  EXPECT_EQ(after_d.skip_records, 1);
  messages_.clear();
  BatchWriter resumed = Writer(10, after_d);
  ASSERT_TRUE(WriteAlone(resumed, MakePage(2, {"d", "e"}, false)).ok());
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("e")));
}

TEST_F(BatchWriterTest, TheFirstMessageIsSmallSoTheFirstRecordComesSoon) {
  std::vector<std::string> ids;
  ids.reserve(1500);
  for (int i = 0; i < 1500; ++i) ids.push_back(absl::StrCat("r", i));
  BatchWriter writer = Writer(1000);
  ASSERT_TRUE(writer.WritePage(MakePage(1, ids, false)).ok());
  ASSERT_TRUE(writer.Finish().ok());
  std::vector<std::size_t> sizes;
  for (const auto& batch : Batches()) sizes.push_back(batch.size());
  EXPECT_THAT(sizes, ElementsAre(kFirstMessageMaxRecords, 1000, 1500 - 1000 - kFirstMessageMaxRecords));
  EXPECT_EQ(messages_[0].partner_center_total_count(), 42);
  EXPECT_EQ(Decode(messages_[0]).skip_records, kFirstMessageMaxRecords);
}

TEST_F(BatchWriterTest, FinishSendsWhatIsLeftAsTheLastMessage) {
  BatchWriter writer = Writer(2);
  ASSERT_TRUE(writer.WritePage(MakePage(1, {"a", "b", "c"}, false)).ok());
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("a", "b"), ElementsAre("c")));
  EXPECT_THAT(lasts_, ElementsAre(false, true));

  messages_.clear();
  lasts_.clear();
  BatchWriter even = Writer(2);
  ASSERT_TRUE(even.WritePage(MakePage(1, {"a", "b"}, false)).ok());
  ASSERT_TRUE(even.Finish().ok());  // nothing left: the status goes alone
  EXPECT_THAT(lasts_, ElementsAre(false));

  messages_.clear();
  lasts_.clear();
  BatchWriter empty = Writer(2);
  ASSERT_TRUE(empty.WritePage(MakePage(1, {}, false)).ok());
  ASSERT_TRUE(empty.Finish().ok());
  EXPECT_EQ(messages_.size(), 1u);
  EXPECT_THAT(lasts_, ElementsAre(true));
}

TEST_F(BatchWriterTest, RecordsAtHandAreSentBeforeAFailureEndsTheStream) {
  BatchWriter writer = Writer(10);
  ASSERT_TRUE(writer.WritePage(MakePage(1, {"a", "b"}, true)).ok());
  EXPECT_TRUE(messages_.empty());    // waiting for the next page, which is at hand
  ASSERT_TRUE(writer.Flush().ok());  // what the service does when that page turns out to be an error
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("a", "b")));
  EXPECT_EQ(Decode(messages_[0]).page.page_number, 2);
}

TEST_F(BatchWriterTest, EachResumeTokenNamesThePositionAfterItsMessage) {
  BatchWriter writer = Writer(2);
  ASSERT_TRUE(WriteAlone(writer, MakePage(1, {"a", "b", "c"}, true)).ok());
  const StreamPosition inside = Decode(messages_[0]);
  EXPECT_EQ(inside.page.page_number, 1);
  EXPECT_EQ(inside.skip_records, 2);
  EXPECT_EQ(inside.caller, "alice");
  const StreamPosition next_page = Decode(messages_[1]);
  EXPECT_EQ(next_page.page.page_number, 2);
  EXPECT_EQ(next_page.skip_records, 0);
  EXPECT_THAT(next_page.page.headers, ElementsAre(http::HttpHeader{"MS-ContinuationToken", "t2"}));
}

TEST_F(BatchWriterTest, AnEmptyCollectionStillSendsOneMessage) {
  BatchWriter writer = Writer(100);
  ASSERT_TRUE(WriteAlone(writer, MakePage(1, {}, false)).ok());
  ASSERT_EQ(messages_.size(), 1u);
  EXPECT_EQ(messages_[0].partner_center_total_count(), 42);
  EXPECT_EQ(messages_[0].usage_records_size(), 0);
}

TEST_F(BatchWriterTest, AResumedStreamSkipsWhatWasDeliveredIfThePageStillStartsTheSame) {
  BatchWriter first = Writer(2);
  ASSERT_TRUE(WriteAlone(first, MakePage(1, {"a", "b", "c"}, false)).ok());
  const StreamPosition resume = Decode(messages_[0]);
  messages_.clear();

  BatchWriter resumed = Writer(10, resume);
  ASSERT_TRUE(WriteAlone(resumed, MakePage(1, {"a", "b", "c"}, false)).ok());
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("c")));

  messages_.clear();
  BatchWriter moved = Writer(10, resume);
  absl::Status status = WriteAlone(moved, MakePage(1, {"b", "a", "c"}, false));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorInfo(status)->reason(), "RESUME_TOKEN_EXPIRED");
  EXPECT_TRUE(messages_.empty());
}

TEST_F(BatchWriterTest, ACallerThatWentAwayEndsTheStream) {
  accept_ = false;
  BatchWriter writer = Writer(1);
  absl::Status status = WriteAlone(writer, MakePage(1, {"a", "b"}, false));
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(GetErrorInfo(status)->reason(), "CALL_CANCELLED");
  EXPECT_EQ(messages_.size(), 1u);
  EXPECT_EQ(writer.records(), 0);
}

TEST_F(BatchWriterTest, MessagesAreBoundedByBytesTooButCarryAtLeastOneRecord) {
  // Each record takes 6 bytes: its entry's tag and length, then the resource id field (tag, length, "rN").
  BatchWriter writer = Writer(100, {}, /*max_record_bytes=*/15);
  ASSERT_TRUE(WriteAlone(writer, MakePage(1, {"r1", "r2", "r3", "r4", "r5"}, false)).ok());
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("r1", "r2"), ElementsAre("r3", "r4"), ElementsAre("r5")));
  messages_.clear();
  BatchWriter tiny = Writer(100, {}, /*max_record_bytes=*/1);
  ASSERT_TRUE(WriteAlone(tiny, MakePage(1, {"r1", "r2"}, false)).ok());
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("r1"), ElementsAre("r2")));
}

TEST_F(BatchWriterTest, TheFirstMessageSaysWhereTheRecordsComeFromAndTokensNameTheSnapshotPage) {
  StreamOrigin origin;
  origin.snapshot_time = absl::FromUnixMillis(1700000000123);
  origin.shared = true;
  origin.snapshot_id = "snap-1";
  BatchWriter writer = Writer(2, {}, kMaxMessageRecordBytes, origin);
  partner_center::FetchedPage first = MakePage(1, {"a", "b", "c"}, true);
  first.index_in_walk = 4;
  ASSERT_TRUE(WriteAlone(writer, first).ok());
  ASSERT_EQ(messages_.size(), 2u);
  EXPECT_EQ(messages_[0].snapshot_time().seconds(), 1700000000);
  EXPECT_EQ(messages_[0].snapshot_time().nanos(), 123000000);
  EXPECT_TRUE(messages_[0].from_shared_snapshot());
  EXPECT_FALSE(messages_[1].has_snapshot_time());
  EXPECT_FALSE(messages_[1].from_shared_snapshot());
  const StreamPosition inside = Decode(messages_[0]);
  EXPECT_EQ(inside.snapshot_id, "snap-1");
  EXPECT_EQ(inside.snapshot_page_index, 4);
  EXPECT_EQ(inside.skip_records, 2);
  const StreamPosition after = Decode(messages_[1]);
  EXPECT_EQ(after.snapshot_id, "snap-1");
  EXPECT_EQ(after.snapshot_page_index, 5);
  EXPECT_EQ(after.page.page_number, 2);
  EXPECT_EQ(after.skip_records, 0);
}

TEST_F(BatchWriterTest, AStreamOfItsOwnWalkNamesNoSnapshot) {
  BatchWriter writer = Writer(10);
  ASSERT_TRUE(WriteAlone(writer, MakePage(1, {"a"}, false)).ok());
  ASSERT_EQ(messages_.size(), 1u);
  EXPECT_FALSE(messages_[0].from_shared_snapshot());
  EXPECT_TRUE(Decode(messages_[0]).snapshot_id.empty());
}

// A page of records given as resource id and currency code, for filtered streams.
partner_center::FetchedPage MakeCurrencyPage(int number,
                                             const std::vector<std::pair<std::string, std::string>>& records,
                                             bool has_next) {
  partner_center::FetchedPage page = MakePage(number, {}, has_next);
  for (const auto& [id, currency] : records) {
    v1::CustomerMonthlyUsageRecord record;
    record.set_resource_id(id);
    record.set_currency_code(currency);
    page.page.records.Append(record);
  }
  return page;
}

RecordFilter OnlyCurrency(const std::string& code) {
  v1::ListUsageRecordsRequest request;
  request.add_currency_codes(code);
  return RecordFilter::FromRequest(request).value().value();
}

TEST_F(BatchWriterTest, AFilteredStreamSendsOnlyWhatPassesAndItsTokensPointPastWhatItLookedAt) {
  const auto page1 = MakeCurrencyPage(1, {{"a", "EUR"}, {"b", "SEK"}, {"c", "EUR"}, {"d", "EUR"}, {"x", "SEK"}}, true);
  const auto page2 = MakeCurrencyPage(2, {{"e", "SEK"}, {"f", "EUR"}, {"g", "SEK"}}, false);
  BatchWriter writer = Writer(2);
  writer.SetFilter(OnlyCurrency("EUR"));
  ASSERT_TRUE(writer.WritePage(page1).ok());
  ASSERT_TRUE(writer.WritePage(page2).ok());
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("a", "c"), ElementsAre("d", "f")));
  EXPECT_EQ(messages_[0].partner_center_total_count(), 42);
  EXPECT_EQ(writer.records(), 4);
  EXPECT_EQ(writer.pages(), 2);
  // After "c": a, b and c were looked at.
  const StreamPosition after_c = Decode(messages_[0]);
  EXPECT_EQ(after_c.page.page_number, 1);
  EXPECT_EQ(after_c.skip_records, 3);
  // After "f", which filled the message: "g" was looked at only after it was sent.
  const StreamPosition after_f = Decode(messages_[1]);
  EXPECT_EQ(after_f.page.page_number, 2);
  EXPECT_EQ(after_f.skip_records, 2);

  // Resumed with the same filter from after "c": "d" and then "f", nothing twice, nothing skipped.
  messages_.clear();
  BatchWriter resumed = Writer(10, after_c);
  resumed.SetFilter(OnlyCurrency("EUR"));
  ASSERT_TRUE(WriteAlone(resumed, page1).ok());
  ASSERT_TRUE(WriteAlone(resumed, page2).ok());
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("d"), ElementsAre("f")));
  EXPECT_EQ(Decode(messages_[0]).page.page_number, 2);  // past "x", which did not pass
  EXPECT_EQ(Decode(messages_[0]).skip_records, 0);

  // The token checks the records looked at, passed or not: a page whose "b" changed no longer matches.
  messages_.clear();
  BatchWriter moved = Writer(10, after_c);
  moved.SetFilter(OnlyCurrency("EUR"));
  const absl::Status status =
      WriteAlone(moved, MakeCurrencyPage(1, {{"a", "EUR"}, {"y", "SEK"}, {"c", "EUR"}, {"d", "EUR"}}, true));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(BatchWriterTest, AFilteredStreamReportsProgressEveryFewPagesThatMatchNothing) {
  BatchWriter writer = Writer(100);
  writer.SetFilter(OnlyCurrency("EUR"), /*progress_pages=*/3);
  for (int number = 1; number <= 7; ++number) {
    ASSERT_TRUE(writer.WritePage(MakeCurrencyPage(number, {{absl::StrCat("s", number), "SEK"}}, number < 7)).ok());
  }
  ASSERT_TRUE(writer.Finish().ok());
  // Every page was at hand, so only the progress rule sent anything: after pages 3 and 6, with no records. The
  // first carries the stream's first-message fields; the status after page 7 goes alone.
  ASSERT_EQ(messages_.size(), 2u);
  EXPECT_EQ(messages_[0].usage_records_size(), 0);
  EXPECT_EQ(messages_[0].partner_center_total_count(), 42);
  EXPECT_EQ(messages_[1].usage_records_size(), 0);
  EXPECT_EQ(Decode(messages_[0]).page.page_number, 4);
  EXPECT_EQ(Decode(messages_[1]).page.page_number, 7);
  EXPECT_THAT(lasts_, ElementsAre(false, false));
}

TEST_F(BatchWriterTest, ProgressAlsoSendsRecordsWaitingForAFullMessage) {
  BatchWriter writer = Writer(100);
  writer.SetFilter(OnlyCurrency("EUR"), /*progress_pages=*/2);
  ASSERT_TRUE(writer.WritePage(MakeCurrencyPage(1, {{"a", "EUR"}, {"b", "SEK"}}, true)).ok());
  EXPECT_TRUE(messages_.empty());
  ASSERT_TRUE(writer.WritePage(MakeCurrencyPage(2, {{"c", "SEK"}}, true)).ok());
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("a")));
  EXPECT_EQ(Decode(messages_[0]).page.page_number, 3);
}

TEST_F(BatchWriterTest, AnUnfilteredStreamSendsNoProgressMessages) {
  BatchWriter writer = Writer(1000);
  for (int number = 1; number <= 2 * kFilteredProgressPages; ++number) {
    ASSERT_TRUE(writer.WritePage(MakePage(number, {absl::StrCat("r", number)}, true)).ok());
  }
  EXPECT_TRUE(messages_.empty());
  ASSERT_TRUE(writer.Flush().ok());
  ASSERT_EQ(messages_.size(), 1u);
  EXPECT_EQ(messages_[0].usage_records_size(), 2 * kFilteredProgressPages);
}

TEST_F(BatchWriterTest, AFilteredMessageFullOfBytesEndsWhereTheNextPassingRecordStarts) {
  // Each record's entry takes 10 bytes (tag, length, then "a" and "EUR" with theirs): one per message.
  BatchWriter writer = Writer(100, {}, /*max_record_bytes=*/10);
  writer.SetFilter(OnlyCurrency("EUR"));
  ASSERT_TRUE(WriteAlone(writer, MakeCurrencyPage(1, {{"a", "EUR"}, {"b", "SEK"}, {"c", "EUR"}}, false)).ok());
  EXPECT_THAT(Batches(), ElementsAre(ElementsAre("a"), ElementsAre("c")));
  EXPECT_EQ(Decode(messages_[0]).skip_records, 2);  // "b" was looked at before the message ended
  EXPECT_EQ(Decode(messages_[1]).skip_records, 3);
}

TEST_F(BatchWriterTest, AFilteredStreamWithNothingPassingStillSendsItsFirstMessage) {
  BatchWriter writer = Writer(10);
  writer.SetFilter(OnlyCurrency("EUR"));
  ASSERT_TRUE(WriteAlone(writer, MakeCurrencyPage(1, {{"a", "SEK"}}, false)).ok());
  ASSERT_TRUE(writer.Finish().ok());
  ASSERT_EQ(messages_.size(), 1u);
  EXPECT_EQ(messages_[0].usage_records_size(), 0);
  EXPECT_EQ(messages_[0].partner_center_total_count(), 42);
  EXPECT_EQ(Decode(messages_[0]).skip_records, 1);
}

TEST_F(BatchWriterTest, AFilteredStreamRefusesRecordBytesItCannotRead) {
  BatchWriter writer = Writer(10);
  writer.SetFilter(OnlyCurrency("EUR"));
  partner_center::FetchedPage page = MakePage(1, {}, false);
  page.page.records.AppendSerialized(std::string("\xff\xff", 2), "a");
  const absl::Status status = WriteAlone(writer, page);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace pcusage
