#include "server/server.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace pcusage {
namespace {

// The ports of this process's listening TCP sockets (IPv4 and IPv6), one entry per socket.
std::vector<int> ListeningPorts() {
  std::set<std::string> socket_inodes;
  if (DIR* fds = opendir("/proc/self/fd"); fds != nullptr) {
    while (const struct dirent* entry = readdir(fds)) {
      char target[256];
      const std::string path = absl::StrCat("/proc/self/fd/", entry->d_name);
      const ssize_t size = readlink(path.c_str(), target, sizeof target - 1);
      if (size <= 0) continue;
      const std::string link(target, static_cast<std::size_t>(size));
      if (link.rfind("socket:[", 0) == 0) socket_inodes.insert(link.substr(8, link.size() - 9));
    }
    closedir(fds);
  }
  std::vector<int> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream file(table);
    std::string line;
    std::getline(file, line);  // the column names
    while (std::getline(file, line)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
      std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() < 10 || fields[3] != "0A" || socket_inodes.count(fields[9]) == 0) continue;
      int port = 0;
      EXPECT_TRUE(absl::SimpleHexAtoi(fields[1].substr(fields[1].rfind(':') + 1), &port)) << line;
      ports.push_back(port);
    }
  }
  return ports;
}

TEST(PcusageServerTest, PortZeroBindsExactlyOnePortTheOneReported) {
  ASSERT_TRUE(ListeningPorts().empty());
  // gRPC bound a second, unreported random port for either (a listener per poller, with SO_REUSEPORT), and every
  // address a name resolves to.
  for (const char* listen : {"localhost:0", "127.0.0.1:0"}) {
    ServerOptions options;
    options.listen = listen;
    absl::StatusOr<std::unique_ptr<PcusageServer>> server = PcusageServer::Start(options);
    ASSERT_TRUE(server.ok()) << listen << ": " << server.status();
    EXPECT_EQ(ListeningPorts(), std::vector<int>{(*server)->port()}) << listen;
    (*server)->Shutdown(absl::Now());
    (*server)->Wait();
    server->reset();
  }
}

TEST(PcusageServerTest, AListenAddressThatDoesNotResolveNamesTheFlag) {
  ServerOptions options;
  options.listen = "no-such-host.invalid:0";
  absl::StatusOr<std::unique_ptr<PcusageServer>> server = PcusageServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find("--listen"), std::string::npos) << server.status();
}

}  // namespace
}  // namespace pcusage
