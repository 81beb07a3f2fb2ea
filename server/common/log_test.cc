#include "server/common/log.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/secrets.h"

namespace pcusage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTime[] = "2026-12-06T09:05:27.123Z";

TEST(LogTest, TextKeepsTheMessageAndAppendsFieldsQuotingOnlyWhatNeedsIt) {
  const std::string line =
      FormatLogLine(LogFormat::kText, kTime, LogLevel::kWarning, "ListUsageRecords",
                    {{"caller", "key:alice"}, {"records", 120}, {"error", "HTTP 503 \"busy\""}, {"empty", ""}});
  EXPECT_EQ(line,
            std::string(kTime) +
                " WARN  ListUsageRecords caller=key:alice records=120 error=\"HTTP 503 \\\"busy\\\"\" empty=\"\"");
}

TEST(LogTest, JsonHasTheStableKeysAndTypedValues) {
  const std::string line = FormatLogLine(LogFormat::kJson, kTime, LogLevel::kInfo, "done",
                                         {{"correlation_id", "c-1"}, {"records", int64_t{7}}, {"resumed", true}});
  const nlohmann::json event = nlohmann::json::parse(line);
  EXPECT_EQ(event["time"], kTime);
  EXPECT_EQ(event["level"], "info");
  EXPECT_EQ(event["msg"], "done");
  EXPECT_EQ(event["correlation_id"], "c-1");
  EXPECT_EQ(event["records"], 7);
  EXPECT_EQ(event["resumed"], true);
}

TEST(LogTest, JsonEscapesControlCharactersAndReplacesBytesThatAreNotUtf8) {
  const std::string hostile = std::string("a\"b\\c\nd\re\tf\x01g\x7fh\xff\xc3(\xe2\x82\xac", 21);
  const std::string line = FormatLogLine(LogFormat::kJson, kTime, LogLevel::kError, hostile, {{"upstream", hostile}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const nlohmann::json event = nlohmann::json::parse(line);  // throws on invalid UTF-8 or bad escapes
  EXPECT_EQ(event["level"], "error");
  const std::string expected = "a\"b\\c\nd\re\tf\x01g\x7fh\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac";
  EXPECT_EQ(event["msg"], expected);
  EXPECT_EQ(event["upstream"], expected);
}

TEST(LogTest, TextNeverSplitsALine) {
  const std::string line = FormatLogLine(LogFormat::kText, kTime, LogLevel::kInfo, "m", {{"upstream", "a\nb"}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_THAT(line, HasSubstr("upstream=\"a\\nb\""));
}

TEST(LogTest, HeldSecretsAreRedactedFromTheMessageAndEveryTextFieldInBothFormats) {
  const SecretHold hold = HoldSecret("s3cr3t-value-of-some-length");
  for (LogFormat format : {LogFormat::kText, LogFormat::kJson}) {
    const std::string line = FormatLogLine(format, kTime, LogLevel::kInfo, "token s3cr3t-value-of-some-length",
                                           {{"caller", "x s3cr3t-value-of-some-length y"}});
    EXPECT_THAT(line, Not(HasSubstr("s3cr3t-value-of-some-length")));
  }
}

TEST(LogTest, LevelsAndFormatsParseAndRefuseTheRest) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("INFO"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
}

TEST(LogTest, TheMinimumLevelDropsWhatIsBelowIt) {
  SetMinLogLevel(LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarning));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetMinLogLevel(LogLevel::kInfo);
}

TEST(LogTimeTest, IsUtcRfc3339WithMilliseconds) {
  const absl::Time time = absl::FromUnixMillis(1796547927123);  // 2026-12-06T09:05:27.123Z
  EXPECT_EQ(LogTime(time), kTime);
  EXPECT_EQ(LogTime(time + absl::Microseconds(999)), kTime);  // rounded down
  EXPECT_EQ(LogTime(time + absl::Milliseconds(877)), "2026-12-06T09:05:28.000Z");
  EXPECT_EQ(LogTime(time + absl::Milliseconds(878)), "2026-12-06T09:05:28.001Z");
  EXPECT_EQ(LogTime(time - absl::Hours(24)), "2026-12-05T09:05:27.123Z");  // a second formatted before
  EXPECT_EQ(LogTime(absl::FromUnixMillis(-1)), "1969-12-31T23:59:59.999Z");
  for (int64_t millis = 1796547927000; millis < 1796547929000; millis += 7) {
    const absl::Time at = absl::FromUnixMillis(millis);
    EXPECT_EQ(LogTime(at), absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", at, absl::UTCTimeZone()));
  }
}

}  // namespace
}  // namespace pcusage
