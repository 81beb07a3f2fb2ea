#include "client_stubs/cpp/loopback_target.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pcusage::client {
namespace {

HostResolver Resolving(const std::vector<std::string>& addresses) {
  return [addresses](const std::string&) { return addresses; };
}

TEST(IsLoopbackTargetTest, LoopbackLiteralsAndUnixSockets) {
  for (const char* target :
       {"127.0.0.1:50051", "127.1.2.3", "[::1]:443", "::1", "dns:///127.0.0.1:1", "passthrough:127.0.0.1:1",
        "[::ffff:127.0.0.1]:1", "unix:/run/pcusage.sock", "unix-abstract:pcusage"}) {
    EXPECT_TRUE(IsLoopbackTarget(target, Resolving({}))) << target;
  }
}

TEST(IsLoopbackTargetTest, OtherAddressesAndNamesAreNot) {
  for (const char* target : {"10.0.0.1:50051", "0.0.0.0:1", "[::]:1", "[2001:db8::1]:1", "[::ffff:10.0.0.1]:1",
                             "pcusage.example:443", "localhost.example:1", "dns:///pcusage.example:443"}) {
    EXPECT_FALSE(IsLoopbackTarget(target, Resolving({"127.0.0.1"}))) << target;
  }
}

TEST(IsLoopbackTargetTest, LocalhostCountsOnlyWhenItResolvesToLoopbackOnly) {
  EXPECT_TRUE(IsLoopbackTarget("localhost:50051", Resolving({"127.0.0.1", "::1"})));
  EXPECT_TRUE(IsLoopbackTarget("LOCALHOST", Resolving({"::1"})));
  EXPECT_FALSE(IsLoopbackTarget("localhost:50051", Resolving({"0.0.0.0"})));
  EXPECT_FALSE(IsLoopbackTarget("localhost:50051", Resolving({"127.0.0.1", "192.0.2.7"})));
  EXPECT_FALSE(IsLoopbackTarget("dns:///localhost:50051", Resolving({})));  // does not resolve
}

TEST(IsLoopbackTargetTest, TheSystemResolverNamesThisMachinesLocalhost) {
  const std::vector<std::string> addresses = ResolveHost("localhost");
  ASSERT_FALSE(addresses.empty());
  EXPECT_TRUE(IsLoopbackTarget("localhost:1"));  // a Debian hosts file maps it to 127.0.0.1 and ::1
}

}  // namespace
}  // namespace pcusage::client
