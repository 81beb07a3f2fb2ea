#include "server/server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/client_unary_call.h"
#include "grpcpp/support/sync_stream.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "packaging/build_info.h"
#include "server/callers/caller_authenticator.h"

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

constexpr char kReflectionMethod[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";

grpc::ByteBuffer Bytes(absl::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

// Reads what is left of a client stream (a ClientReader or ClientReaderWriter) and returns its status.
template <typename Stream>
grpc::Status ReadToEnd(Stream& stream) {
  grpc::ByteBuffer rest;
  while (stream.Read(&rest)) {
  }
  return stream.Finish();
}

// A reflection stream (grpc.reflection.v1alpha ServerReflectionInfo) that sends nothing until asked.
class ReflectionStream {
 public:
  explicit ReflectionStream(const std::shared_ptr<grpc::Channel>& channel, const std::string& api_key = "") {
    if (!api_key.empty()) context_.AddMetadata("x-api-key", api_key);
    // A hang guard, far past any bound a test sets: a stream the server never ends fails DEADLINE_EXCEEDED.
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stream_.reset(grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
        channel.get(), grpc::internal::RpcMethod(kReflectionMethod, grpc::internal::RpcMethod::BIDI_STREAMING, channel),
        &context_));
  }
  // Whether the server answered a list_services request (ServerReflectionRequest field 7).
  bool ListServices() {
    grpc::ByteBuffer response;
    return stream_->Write(Bytes(absl::string_view("\x3a\x00", 2))) && stream_->Read(&response);
  }
  grpc::Status Close() {
    stream_->WritesDone();
    return ReadToEnd(*stream_);
  }
  // Sends nothing more and waits for the server to end the stream.
  grpc::Status AwaitEnd() { return ReadToEnd(*stream_); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream_;
};

// A grpc.health.v1.Health/Watch stream of the server as a whole, as a health-checking load balancer keeps open.
class HealthWatch {
 public:
  explicit HealthWatch(const std::shared_ptr<grpc::Channel>& channel) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));  // a hang guard
    stream_.reset(grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
        channel.get(),
        grpc::internal::RpcMethod("/grpc.health.v1.Health/Watch", grpc::internal::RpcMethod::SERVER_STREAMING, channel),
        &context_, Bytes("")));
  }
  // Whether the first status arrived.
  bool FirstStatus() {
    grpc::ByteBuffer response;
    return stream_->Read(&response);
  }
  grpc::Status AwaitEnd() { return ReadToEnd(*stream_); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> stream_;
};

// grpc.health.v1.Health/Check of the server as a whole; OK means SERVING.
grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel, const std::string& api_key = "") {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!api_key.empty()) context.AddMetadata("x-api-key", api_key);
  grpc::ByteBuffer response;
  grpc::Status status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel.get(), grpc::internal::RpcMethod(kHealthCheckMethod, grpc::internal::RpcMethod::NORMAL_RPC, channel),
      &context, Bytes(""), &response);
  if (!status.ok()) return status;
  grpc::Slice slice;
  EXPECT_TRUE(response.DumpToSingleSlice(&slice).ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(slice.begin()), slice.size()), "\x08\x01") << "SERVING";
  return status;
}

class AuxiliaryServicesTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options) {
    options.listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<PcusageServer>> server = PcusageServer::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(absl::Now() + absl::Seconds(1));
      server_->Wait();
    }
  }

  std::unique_ptr<PcusageServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(AuxiliaryServicesTest, StreamsPastTheirLimitAreCancelledAtOnceAndUnaryChecksStillPass) {
  ServerOptions options;
  options.max_auxiliary_streams = 2;
  Start(options);
  ReflectionStream first(channel_);
  ReflectionStream second(channel_);
  ASSERT_TRUE(first.ListServices());
  ASSERT_TRUE(second.ListServices());
  ReflectionStream third(channel_);
  EXPECT_FALSE(third.ListServices());
  EXPECT_EQ(third.Close().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(HealthCheck(channel_).ok()) << "a unary check needs no stream slot";
  EXPECT_TRUE(first.Close().ok());
  ReflectionStream fourth(channel_);
  EXPECT_TRUE(fourth.ListServices()) << "a closed stream gives its slot back";
  EXPECT_TRUE(fourth.Close().ok());
  EXPECT_TRUE(second.Close().ok());
}

TEST_F(AuxiliaryServicesTest, AnIdleReflectionStreamIsCancelledAtItsDurationBoundAndItsSlotFreed) {
  ServerOptions options;
  options.max_auxiliary_streams = 1;
  options.max_auxiliary_stream_duration = absl::Seconds(1);
  Start(options);
  ReflectionStream idle(channel_);
  ASSERT_TRUE(idle.ListServices());
  EXPECT_EQ(idle.AwaitEnd().error_code(), grpc::StatusCode::CANCELLED) << "not the client's own 60 s hang guard";
  // The slot is given back once the server's handler has returned, a moment after the caller sees the end: try
  // until a new stream gets in (ten seconds is a hang guard).
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  bool admitted = false;
  while (!admitted && absl::Now() < give_up) {
    ReflectionStream next(channel_);
    admitted = next.ListServices();
    if (admitted) {
      EXPECT_TRUE(next.Close().ok());
    }
  }
  EXPECT_TRUE(admitted) << "the expired stream's slot was never given back";
}

TEST_F(AuxiliaryServicesTest, AHealthWatchHasABoundOfItsOwn) {
  ServerOptions options;
  options.max_auxiliary_stream_duration = absl::Hours(1);
  options.max_health_watch_duration = absl::Seconds(1);
  Start(options);
  ReflectionStream reflection(channel_);
  ASSERT_TRUE(reflection.ListServices());
  HealthWatch watch(channel_);
  ASSERT_TRUE(watch.FirstStatus());
  EXPECT_EQ(watch.AwaitEnd().error_code(), grpc::StatusCode::CANCELLED) << "not the client's own 60 s hang guard";
  EXPECT_TRUE(reflection.ListServices()) << "the reflection stream, older than the Watch, runs on to its own bound";
  EXPECT_TRUE(reflection.Close().ok());
}

TEST(PcusageServerTest, AuxiliaryStreamDurationsMustBePositive) {
  for (const bool watch : {false, true}) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    (watch ? options.max_health_watch_duration : options.max_auxiliary_stream_duration) = absl::ZeroDuration();
    absl::StatusOr<std::unique_ptr<PcusageServer>> server = PcusageServer::Start(options);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(server.status().message().find(watch ? "--max_health_watch_duration" : "--max_auxiliary_stream_duration"),
              std::string::npos)
        << server.status();
  }
}

TEST_F(AuxiliaryServicesTest, WithApiKeysReflectionAndHealthNeedOneUnlessHealthChecksAreOpen) {
  const std::string key = "aux-test-key-0123456789";
  const std::string keys_file = ::testing::TempDir() + "/api_keys";
  std::ofstream(keys_file) << callers::CallerAuthenticator::HashLine("ops", key).value() << "\n";
  for (const bool open_health_checks : {false, true}) {
    ServerOptions options;
    options.listener.api_keys_file = keys_file;
    options.open_health_checks = open_health_checks;
    Start(options);
    ReflectionStream stranger(channel_);
    EXPECT_FALSE(stranger.ListServices());
    EXPECT_EQ(stranger.Close().error_code(), grpc::StatusCode::CANCELLED);
    ReflectionStream operator_stream(channel_, key);
    EXPECT_TRUE(operator_stream.ListServices());
    EXPECT_TRUE(operator_stream.Close().ok());
    EXPECT_TRUE(HealthCheck(channel_, key).ok());
    EXPECT_EQ(HealthCheck(channel_).error_code(),
              open_health_checks ? grpc::StatusCode::OK : grpc::StatusCode::CANCELLED);
    TearDown();
    server_.reset();
  }
}

TEST(PcusageServerTest, AConnectionThatNeverSpeaksIsClosedAfterTheHandshakeTimeout) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.handshake_timeout = absl::Milliseconds(300);
  absl::StatusOr<std::unique_ptr<PcusageServer>> server = PcusageServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>((*server)->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  timeval wait{10, 0};  // far longer than the timeout: a read that returns at all shows the server closed it
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait), 0);
  const absl::Time start = absl::Now();
  char byte;
  ssize_t got = 0;
  do {
    got = read(fd, &byte, 1);  // the server's SETTINGS come first, then the end of the connection
  } while (got > 0);
  EXPECT_EQ(got, 0) << "the server closed the connection (not a read time-out)";
  EXPECT_LT(absl::Now() - start, absl::Seconds(9));
  close(fd);
  (*server)->Shutdown(absl::Now());
  (*server)->Wait();
}

// The value of one series in a scrape of `port`'s /metrics (0 when the series is not there yet).
double ScrapedValue(int port, absl::string_view series) {
  httplib::Client scraper("127.0.0.1", port);
  httplib::Result scraped = scraper.Get("/metrics");
  EXPECT_TRUE(scraped && scraped->status == 200);
  if (!scraped) return -1;
  const std::string line_start = absl::StrCat("\n", series, " ");
  const std::size_t at = scraped->body.find(line_start);
  double value = 0;
  if (at != std::string::npos) {
    const std::size_t begin = at + line_start.size();
    EXPECT_TRUE(absl::SimpleAtod(scraped->body.substr(begin, scraped->body.find('\n', begin) - begin), &value));
  }
  return value;
}

// Scrapes until the series has `expected` (a refused call's caller may see its end before the server counts it);
// returns the last value seen. Ten seconds is a hang guard, not a timing expectation.
double AwaitScrapedValue(int port, absl::string_view series, double expected) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  double value = ScrapedValue(port, series);
  while (value != expected && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
    value = ScrapedValue(port, series);
  }
  return value;
}

TEST_F(AuxiliaryServicesTest, MetricsListenServesTheCatalogWithEveryCallCountedByMethodAndCode) {
  ServerOptions options;
  options.metrics_listen = "127.0.0.1:0";
  options.max_auxiliary_streams = 1;
  Start(options);
  const int port = server_->metrics_port();
  ASSERT_GT(port, 0);
  constexpr char kChecksOk[] = R"(pcusage_rpcs_total{method="grpc.health.v1.Health/Check",code="OK"})";
  constexpr char kReflectionCancelled[] =
      R"(pcusage_rpcs_total{method="grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",code="CANCELLED"})";
  const double checks = ScrapedValue(port, kChecksOk);
  const double cancelled = ScrapedValue(port, kReflectionCancelled);
  // Each call's status is counted before it is sent, so a scrape after the caller has it sees it.
  ASSERT_TRUE(HealthCheck(channel_).ok());
  EXPECT_EQ(ScrapedValue(port, kChecksOk), checks + 1);
  ReflectionStream first(channel_);
  ASSERT_TRUE(first.ListServices());
  EXPECT_EQ(
      ScrapedValue(port,
                   R"(pcusage_active_streams{method="grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"})"),
      1);
  ReflectionStream refused(channel_);  // past --max_auxiliary_streams: cancelled, and counted so
  EXPECT_FALSE(refused.ListServices());
  EXPECT_EQ(refused.Close().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(AwaitScrapedValue(port, kReflectionCancelled, cancelled + 1), cancelled + 1);
  EXPECT_TRUE(first.Close().ok());
  EXPECT_EQ(ScrapedValue(port, "pcusage_build_info{version=\"" + std::string(build_info::Version()) + "\",commit=\"" +
                                   std::string(build_info::Commit()) + "\",build_mode=\"" +
                                   std::string(build_info::BuildMode()) + "\"}"),
            1);
}

TEST(PcusageServerTest, MetricsAreOffUnlessAskedForAndABadMetricsAddressNamesTheFlag) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<PcusageServer>> server = PcusageServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->metrics_port(), 0);
  (*server)->Shutdown(absl::Now());
  (*server)->Wait();

  options.metrics_listen = "unix:/tmp/pcusage-metrics.sock";
  server = PcusageServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find("--metrics_listen"), std::string::npos) << server.status();
}

}  // namespace
}  // namespace pcusage
