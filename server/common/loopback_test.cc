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

TEST(LoopbackTest, ListenAddresses) {
  EXPECT_TRUE(IsLoopbackListenAddress("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackListenAddress("localhost:0"));
  EXPECT_TRUE(IsLoopbackListenAddress("[::1]:50051"));
  EXPECT_TRUE(IsLoopbackListenAddress("unix:/run/pcusage.sock"));
  EXPECT_FALSE(IsLoopbackListenAddress("0.0.0.0:50051"));
  EXPECT_FALSE(IsLoopbackListenAddress("[::]:50051"));
  EXPECT_FALSE(IsLoopbackListenAddress("10.1.2.3:50051"));
}

}  // namespace
}  // namespace pcusage
