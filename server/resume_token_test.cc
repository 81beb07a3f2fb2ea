#include "server/resume_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace pcusage {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

std::unique_ptr<ResumeTokenCodec> Codec(char key_byte = 'k', absl::Duration ttl = absl::Hours(1)) {
  auto codec = ResumeTokenCodec::Create(std::string(32, key_byte), ttl);
  EXPECT_TRUE(codec.ok()) << codec.status();
  return *std::move(codec);
}

StreamPosition Position() {
  StreamPosition position;
  position.page.url = "https://pc.example.test/v1/customers/usagerecords?seekOperation=Next";
  position.page.headers = {{"MS-ContinuationToken", "abc=="}};
  position.page.page_number = 3;
  position.skip_records = 17;
  position.delivered_fingerprint = 0x0123456789abcdefULL;
  return position;
}

TEST(ResumeTokenTest, RoundTrips) {
  auto codec = Codec();
  absl::StatusOr<StreamPosition> decoded = codec->Decode(codec->Encode(Position(), kNow), kNow + absl::Minutes(59));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->page.url, Position().page.url);
  EXPECT_EQ(decoded->page.headers, Position().page.headers);
  EXPECT_EQ(decoded->page.page_number, 3);
  EXPECT_EQ(decoded->skip_records, 17);
  EXPECT_EQ(decoded->delivered_fingerprint, 0x0123456789abcdefULL);
}

TEST(ResumeTokenTest, IsSignedWithHmacSha256OfItsContents) {
  const std::string key(32, 'k');
  auto codec = Codec('k');
  const std::vector<std::string> parts = absl::StrSplit(codec->Encode(Position(), kNow), '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string contents;
  std::string mac;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &contents));
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[2], &mac));
  unsigned char expected[EVP_MAX_MD_SIZE];
  unsigned int expected_size = 0;
  ASSERT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(contents.data()), contents.size(), expected, &expected_size),
            nullptr);
  EXPECT_EQ(mac, std::string(reinterpret_cast<const char*>(expected), expected_size));
}

uint64_t FingerprintOf(const std::vector<std::string>& ids) {
  uint64_t fingerprint = kEmptyFingerprint;
  for (const std::string& id : ids) {
    partnercenter::usage::v1::CustomerMonthlyUsageRecord record;
    record.set_resource_id(id);
    fingerprint = ExtendFingerprint(fingerprint, record);
  }
  return fingerprint;
}

TEST(FingerprintTest, DependsOnEveryIdAndTheirOrder) {
  const uint64_t all = FingerprintOf({"a", "bc", "d"});
  EXPECT_EQ(all, FingerprintOf({"a", "bc", "d"}));
  EXPECT_NE(all, FingerprintOf({"a", "bc"}));
  EXPECT_NE(all, FingerprintOf({"d", "bc", "a"}));
  EXPECT_NE(FingerprintOf({"ab", "c"}), FingerprintOf({"a", "bc"}));
  EXPECT_NE(FingerprintOf({""}), kEmptyFingerprint);  // a record without an id still counts
}

TEST(ResumeTokenTest, ExpiredTokensAreAFailedPrecondition) {
  auto codec = Codec();
  const std::string token = codec->Encode(Position(), kNow);
  EXPECT_EQ(codec->Decode(token, kNow + absl::Minutes(61)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(codec->Decode(token, kNow - absl::Minutes(10)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ResumeTokenTest, ForeignOrTamperedTokensAreInvalid) {
  auto codec = Codec();
  const std::string token = codec->Encode(Position(), kNow);
  EXPECT_EQ(Codec('z')->Decode(token, kNow).status().code(), absl::StatusCode::kInvalidArgument);

  std::string tampered = token;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(codec->Decode(tampered, kNow).status().code(), absl::StatusCode::kInvalidArgument);
  for (const char* bad : {"", "v1", "v1..", "v2.AAAA.AAAA", "not a token", "v1.!!!.???"}) {
    EXPECT_EQ(codec->Decode(bad, kNow).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// Found by tests/fuzz/resume_token_fuzzer.cc: base64 decoding skipped whitespace, took padding and ignored set unused
// bits, so one signed position was accepted under many spellings. Only the token Encode writes is.
TEST(ResumeTokenTest, OnlyTheSpellingEncodeWritesIsAccepted) {
  auto codec = Codec();
  const std::string token = codec->Encode(Position(), kNow);
  ASSERT_TRUE(codec->Decode(token, kNow).ok());
  const std::size_t mac_at = token.rfind('.') + 1;
  std::vector<std::string> respelled = {
      token.substr(0, 10) + "\n" + token.substr(10),                 // whitespace in the contents
      token.substr(0, mac_at + 4) + " " + token.substr(mac_at + 4),  // whitespace in the signature
      token + "=",                                                   // padding
      token + "\r\n",
  };
  // The signature's 32 bytes take 43 characters, the last with 2 unused bits: setting one spells the same bytes.
  constexpr absl::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string unused_bit_set = token;
  unused_bit_set.back() = kAlphabet[kAlphabet.find(token.back()) | 1];
  respelled.push_back(unused_bit_set);
  for (const std::string& spelling : respelled) {
    EXPECT_EQ(codec->Decode(spelling, kNow).status().code(), absl::StatusCode::kInvalidArgument) << spelling;
  }
}

TEST(ResumeTokenTest, RejectsWeakKeysAndLifetimes) {
  EXPECT_FALSE(ResumeTokenCodec::Create(std::string(31, 'k'), absl::Hours(1)).ok());
  EXPECT_FALSE(ResumeTokenCodec::Create(std::string(32, 'k'), absl::ZeroDuration()).ok());
  absl::StatusOr<std::string> first = ResumeTokenCodec::RandomKey();
  absl::StatusOr<std::string> second = ResumeTokenCodec::RandomKey();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->size(), ResumeTokenCodec::kMinKeyBytes);
  EXPECT_NE(*first, *second);
}

}  // namespace
}  // namespace pcusage
