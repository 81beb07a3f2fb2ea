#include "server/common/loopback.h"

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace pcusage {
namespace {

TEST(LoopbackTest, NumericLoopbackAddressesOnly) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "127.255.255.255", "::1", "[::1]", "0:0:0:0:0:0:0:1",
                           "::ffff:127.0.0.1", "[::ffff:127.9.9.9]"}) {
    EXPECT_TRUE(IsLoopbackAddress(host)) << host;
  }
  for (const char* host :
       {"",        "localhost",   "LOCALHOST",       "localhost.", "127.0.0.1.", "128.0.0.1",         "126.255.255.255",
        "127.0.0", "127.0.0.256", "127.0.0.1.evil",  "10.0.0.1",   "0.0.0.0",    "localhost.example", "::",
        "[::]",    "::2",         "::ffff:10.0.0.1", "[::1",       "::1]",       "example.com",       " 127.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackAddress(host)) << host;
  }
}

TEST(LoopbackTest, UrlsAreJudgedByTheHostLibcurlParses) {
  for (const char* url :
       {"http://127.0.0.1:8080/v1", "https://127.0.0.1/t/oauth2/token", "http://[::1]:80/", "http://[::1]:9/",
        "HTTP://127.0.0.1/", "Https://127.0.0.1:443/", "http://127.0.0.5", "http://[0:0:0:0:0:0:0:1]/",
        "http://[::ffff:127.0.0.1]/", "http://127.1/", "http://0x7f.0.0.1/", "http://2130706433/",
        "http://127.0.0.1:80#@evil.example/", "http://127.0.0.1/?next=http://evil.example/",
        // userinfo is not the host: this one is loopback, whatever its text says
        "http://evil.example@127.0.0.1/"}) {
    EXPECT_TRUE(IsLoopbackUrl(url)) << url;
  }
  for (const char* url : {"http://127.0.0.1@evil.example/",     // userinfo, then the real host
                          "http://127.0.0.1:80@evil.example/",  // the same with a "port"
                          "http://127.0.0.1\\@evil.example/",   // libcurl reads the host after the @
                          "http://127.0.0.1.evil.example/",     // a name that starts like an address
                          "http://127.0.0.1%2eevil.example/",   // the same, percent-encoded
                          "http://127.0.0.1./",                 // a trailing dot makes it a name
                          "http://localhost/",
                          "https://LOCALHOST/t",
                          "http://localhost./",  // names resolve wherever
                          "http://evil.example/127.0.0.1",
                          "http://[::1]evil/",
                          "http://[::2]/",
                          "http://0.0.0.0/",
                          "http://128.0.0.1/",
                          "ftp://127.0.0.1/",
                          "127.0.0.1/x",
                          "//127.0.0.1/",
                          "http://127.0.0.1 /",
                          "",
                          "http://127.0.0.1:99999/"}) {
    EXPECT_FALSE(IsLoopbackUrl(url)) << url;
  }
  constexpr char kWithNul[] = "http://127.0.0.1\0@evil.example/";
  EXPECT_FALSE(IsLoopbackUrl(absl::string_view(kWithNul, sizeof kWithNul - 1))) << "a NUL in the URL";
}

TEST(LoopbackTest, ListenAddressesAreResolvedToOneNumericAddress) {
  struct Case {
    const char* address;
    const char* bind;
    bool loopback;
  };
  for (const Case& expected : {Case{"127.0.0.1:50051", "127.0.0.1:50051", true},
                               {"127.0.0.2:0", "127.0.0.2:0", true},
                               {"[::1]:50051", "[::1]:50051", true},
                               {"[::ffff:127.0.0.1]:7", "[::ffff:127.0.0.1]:7", true},
                               {"0.0.0.0:50051", "0.0.0.0:50051", false},
                               {"[::]:0", "[::]:0", false},
                               {"10.1.2.3:50051", "10.1.2.3:50051", false},
                               {"[::ffff:10.1.2.3]:7", "[::ffff:10.1.2.3]:7", false},
                               {"unix:/run/pcusage.sock", "unix:/run/pcusage.sock", true},
                               {"unix-abstract:pcusage", "unix-abstract:pcusage", true}}) {
    absl::StatusOr<ListenAddress> resolved = ResolveListenAddress(expected.address);
    ASSERT_TRUE(resolved.ok()) << expected.address << ": " << resolved.status();
    EXPECT_EQ(resolved->bind, expected.bind) << expected.address;
    EXPECT_EQ(resolved->loopback, expected.loopback) << expected.address;
  }
}

TEST(LoopbackTest, ANameBecomesTheOneAddressItResolvesToFirst) {
  absl::StatusOr<ListenAddress> resolved = ResolveListenAddress("localhost:0");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  // Whichever family the resolver puts first; loopback because that address is, not because of the name.
  EXPECT_TRUE(resolved->bind == "127.0.0.1:0" || resolved->bind == "[::1]:0") << resolved->bind;
  EXPECT_TRUE(resolved->loopback);
}

TEST(LoopbackTest, MalformedListenAddressesAreRefused) {
  for (const char* address :
       {"", "127.0.0.1", ":50051", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+5", "127.0.0.1: 5",
        "::1:50051", "[::1]50051", "[::1", "no-such-host.invalid:1"}) {
    absl::StatusOr<ListenAddress> resolved = ResolveListenAddress(address);
    EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument) << address;
  }
}

}  // namespace
}  // namespace pcusage
