#include "server/common/printable.h"

#include "gtest/gtest.h"
#include "server/common/secrets.h"

namespace pcusage {
namespace {

TEST(PrintableTest, OneLineNoControlCharacters) {
  EXPECT_EQ(Printable("  line one\nline two\u0007\t ", 100), "line one line two");
  EXPECT_EQ(Printable("\x1b[31mred\x7f", 100), "[31mred");
}

TEST(PrintableTest, CutsAtCharacterBoundaries) {
  EXPECT_EQ(Printable("abcdef", 3), "abc...");
  EXPECT_EQ(Printable("ab東京", 4), "ab...");  // 東 is 3 bytes: not cut in half
  EXPECT_EQ(Printable("ab東京", 5), "ab東...");
  EXPECT_EQ(Printable("🚀🚀", 5), "🚀...");
  EXPECT_EQ(Printable("short", 5), "short");
}

TEST(PrintableTest, InvalidUtf8BecomesQuestionMarks) {
  EXPECT_EQ(Printable("text/\xff\xfehtml", 100), "text/??html");
  EXPECT_EQ(Printable("\xc0\xaf", 100), "??");       // overlong '/'
  EXPECT_EQ(Printable("\xed\xa0\x80", 100), "???");  // a UTF-16 surrogate
  EXPECT_EQ(Printable("\xe6\x9d", 100), "??");       // cut short
  EXPECT_EQ(Printable("Zürich 東京 🚀", 100), "Zürich 東京 🚀");
}

TEST(PrintableTest, RedactsSecretsBeforeCutting) {
  SecretHold hold = HoldSecret("a-secret-longer-than-the-cut");
  EXPECT_EQ(Printable("token a-secret-longer-than-the-cut", 12), "token [redac...");
  EXPECT_EQ(Printable("refresh_token=abc&x", 100), "refresh_token=[redacted]&x");
}

TEST(PrintableTest, FindsControlCharacters) {
  EXPECT_FALSE(HasControlCharacter("plain Ünïcode"));
  EXPECT_TRUE(HasControlCharacter("a\r\nb"));
  EXPECT_TRUE(HasControlCharacter(absl::string_view("a\0b", 3)));
}

TEST(ValidUtf8Test, KeepsWellFormedTextAndReplacesEveryOtherByte) {
  EXPECT_EQ(ValidUtf8("Müller 日本 \xF0\x9F\x92\xB6"), "Müller 日本 \xF0\x9F\x92\xB6");
  EXPECT_EQ(ValidUtf8("a\xFF"
                      "b"),
            "a?b");
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), "??");                                    // overlong '/'
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), "???");                               // a surrogate
  EXPECT_EQ(ValidUtf8("\xE6\x97"), "??");                                    // cut short
  EXPECT_EQ(ValidUtf8(absl::string_view("\0x", 2)), std::string("\0x", 2));  // NUL is valid UTF-8
}

}  // namespace
}  // namespace pcusage
