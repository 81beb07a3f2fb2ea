#include "server/common/loopback.h"

#include "gtest/gtest.h"

namespace pcusage {
namespace {

TEST(LoopbackTest, Hosts) {
  for (const char* host : {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"", "128.0.0.1", "127.0.0", "127.0.0.256", "127.0.0.1.evil", "10.0.0.1", "0.0.0.0",
                           "localhost.example", "::", "example.com"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(LoopbackTest, Urls) {
  EXPECT_TRUE(IsLoopbackUrl("http://127.0.0.1:8080/v1"));
  EXPECT_TRUE(IsLoopbackUrl("https://localhost/t/oauth2/token"));
  EXPECT_TRUE(IsLoopbackUrl("http://[::1]:9/"));
  EXPECT_FALSE(IsLoopbackUrl("http://127.0.0.1@evil.example/"));
  EXPECT_FALSE(IsLoopbackUrl("http://evil.example/127.0.0.1"));
  EXPECT_FALSE(IsLoopbackUrl("ftp://127.0.0.1/"));
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
