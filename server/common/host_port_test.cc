#include "server/common/host_port.h"

#include "gtest/gtest.h"

namespace pcusage {
namespace {

TEST(HostPortTest, SplitsAtThePortsColonAndUnbracketsIpv6) {
  absl::StatusOr<HostAndPort> parts = SplitHostPort("cache.internal:6379");
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_EQ(parts->host, "cache.internal");
  EXPECT_EQ(parts->port, "6379");
  EXPECT_FALSE(parts->bracketed);
  parts = SplitHostPort("[2001:db8::5]:50051");
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_EQ(parts->host, "2001:db8::5");
  EXPECT_EQ(parts->port, "50051");
  EXPECT_TRUE(parts->bracketed);
  parts = SplitHostPort("[]:");
  ASSERT_TRUE(parts.ok()) << "emptiness is the caller's to check";
  EXPECT_EQ(parts->host, "");
  EXPECT_EQ(parts->port, "");
}

TEST(HostPortTest, RefusesWhatHasNoPortColonOrAnUnbracketedIpv6Host) {
  for (const char* bad : {"cache", "[::1]", "[::1]6379", "[::1", "::1:6379", "2001:db8::5:80"}) {
    EXPECT_EQ(SplitHostPort(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(HostPortTest, JoinBracketsOnlyIpv6) {
  EXPECT_EQ(JoinHostPort("2001:db8::5", 6380), "[2001:db8::5]:6380");
  EXPECT_EQ(JoinHostPort("127.0.0.1", 0), "127.0.0.1:0");
  EXPECT_EQ(JoinHostPort("cache.internal", 6379), "cache.internal:6379");
}

}  // namespace
}  // namespace pcusage
