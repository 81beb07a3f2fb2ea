#include "server/http/curl_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace pcusage::http {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

// "hello, gzip" compressed with gzip.
constexpr char kGzipBody[] =
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xcb\x48\xcd\xc9\xc9\xd7\x51\x48\xaf\xca\x2c\x00\x00\x4a\x9b\xb1\x5c"
    "\x0b\x00\x00\x00";

int BoundPort(int fd) {
  sockaddr_in address = {};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return -1;
  return ntohs(address.sin_port);
}

std::string HeaderValue(const httplib::Headers& headers, const std::string& name) {
  const auto it = headers.find(name);
  return it == headers.end() ? "<missing>" : it->second;
}

// A socket bound to 127.0.0.1 on an ephemeral port; returns the fd, or -1.
int BindLoopback() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A port on 127.0.0.1 that nothing listens on: bound, then closed.
int ClosedPort() {
  const int fd = BindLoopback();
  if (fd < 0) return -1;
  const int port = BoundPort(fd);
  close(fd);
  return port;
}

// Answers one connection with fixed bytes, for responses httplib will not produce: reads the request head, writes
// `response`, closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) : response_(std::move(response)) {
    listen_fd_ = BindLoopback();
    if (listen_fd_ < 0 || listen(listen_fd_, 1) != 0) return;
    port_ = BoundPort(listen_fd_);
    thread_ = std::thread([this] { Serve(); });
  }

  ~OneShotServer() {
    if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  int port() const { return port_; }

  // The request head received; call after the client is done.
  const std::string& request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  void Serve() {
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    timeval receive_timeout = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof(receive_timeout));
    char buffer[4096];
    while (!absl::StrContains(request_, "\r\n\r\n")) {
      const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      request_.append(buffer, n);
    }
    send(fd, response_.data(), response_.size(), MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    close(fd);
  }

  std::string response_;
  std::string request_;
  int listen_fd_ = -1;
  int port_ = -1;
  std::thread thread_;
};

class CurlTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.new_task_queue = [] { return new httplib::ThreadPool(32); };
    server_.set_keep_alive_timeout(1);
    server_.set_tcp_nodelay(true);
    server_.set_pre_routing_handler([this](const httplib::Request& request, httplib::Response&) {
      absl::MutexLock lock(&mu_);
      ++requests_;
      last_request_headers_ = request.headers;
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_.Get("/hello", [](const httplib::Request&, httplib::Response& response) {
      response.set_header("X-Custom-Header", "  Some Value ");
      response.set_content("hello", "text/plain");
    });
    server_.Get(R"(/status/(\d+))", [](const httplib::Request& request, httplib::Response& response) {
      response.status = std::stoi(request.matches[1]);
      response.set_header("Retry-After", "7");
      response.set_content(absl::StrCat("status ", response.status), "text/plain");
    });
    server_.Get(R"(/bytes/(\d+))", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(std::string(std::stoul(request.matches[1]), 'x'), "application/octet-stream");
    });
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& response) {
      SleepUnlessStopping(absl::Seconds(2));
      response.set_content("late", "text/plain");
    });
    server_.Get("/stream", [this](const httplib::Request&, httplib::Response& response) {
      response.set_chunked_content_provider("application/octet-stream", [this](size_t, httplib::DataSink& sink) {
        for (int i = 0; i < 50 && !stopping_; ++i) {
          if (!sink.write("chunk\n", 6)) return false;
          SleepUnlessStopping(absl::Milliseconds(100));
        }
        sink.done();
        return true;
      });
    });
    server_.Get("/gzip", [](const httplib::Request&, httplib::Response& response) {
      response.set_header("Content-Encoding", "gzip");
      response.set_content(std::string(kGzipBody, sizeof(kGzipBody) - 1), "application/octet-stream");
    });
    server_.Get("/redirect",
                [](const httplib::Request&, httplib::Response& response) { response.set_redirect("/hello"); });
    server_.Get("/peer", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(std::to_string(request.remote_port), "text/plain");
    });
    server_.Post("/echo", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(
          absl::StrCat(request.method, " ", request.get_header_value("Content-Type"), " ", request.body), "text/plain");
    });

    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    server_thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the server runs, so TearDown must not race ahead of it.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  void TearDown() override {
    stopping_ = true;
    // Closing the pooled connections lets the server's keep-alive loops end at once.
    transport_.reset();
    server_.stop();
    if (server_thread_.joinable()) server_thread_.join();
  }

  std::string Url(absl::string_view path_and_query) const {
    return absl::StrCat("http://127.0.0.1:", port_, path_and_query);
  }

  absl::StatusOr<HttpResponse> Get(absl::string_view path_and_query) {
    HttpRequest request;
    request.url = Url(path_and_query);
    request.timeout = absl::Seconds(10);
    return transport_->Send(request);
  }

  int requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

  void SleepUnlessStopping(absl::Duration duration) {
    const absl::Time end = absl::Now() + duration;
    while (!stopping_ && absl::Now() < end) absl::SleepFor(absl::Milliseconds(10));
  }

  httplib::Server server_;
  int port_ = -1;
  std::thread server_thread_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<CurlTransport> transport_ = std::make_unique<CurlTransport>();

  absl::Mutex mu_;
  int requests_ ABSL_GUARDED_BY(mu_) = 0;
  httplib::Headers last_request_headers_ ABSL_GUARDED_BY(mu_);
};

TEST_F(CurlTransportTest, ReturnsStatusBodyAndLowercaseTrimmedHeaders) {
  absl::StatusOr<HttpResponse> response = Get("/hello");

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_EQ(response->body, "hello");
  EXPECT_THAT(response->headers, Contains(HttpHeader{"x-custom-header", "Some Value"}));
  for (const HttpHeader& header : response->headers) {
    EXPECT_EQ(header.name, absl::AsciiStrToLower(header.name));
  }
}

TEST_F(CurlTransportTest, ErrorStatusesAreResponses) {
  for (int status : {404, 429, 500}) {
    absl::StatusOr<HttpResponse> response = Get(absl::StrCat("/status/", status));

    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status_code, status);
    EXPECT_EQ(response->body, absl::StrCat("status ", status));
    EXPECT_THAT(response->Header("Retry-After"), Optional(std::string("7")));
  }
}

TEST_F(CurlTransportTest, SendsRequestHeadersAndUserAgent) {
  CurlTransportOptions options;
  options.user_agent = "pcusage-test/1";
  transport_ = std::make_unique<CurlTransport>(options);
  HttpRequest request;
  request.url = Url("/hello");
  request.headers = {{"Authorization", "Bearer abc"}, {"X-Request-Id", "r-1"}};

  absl::StatusOr<HttpResponse> response = transport_->Send(request);

  ASSERT_TRUE(response.ok()) << response.status();
  absl::MutexLock lock(&mu_);
  const httplib::Headers& seen = last_request_headers_;
  EXPECT_EQ(seen.count("Authorization"), 1u);
  EXPECT_EQ(HeaderValue(seen, "Authorization"), "Bearer abc");
  EXPECT_EQ(HeaderValue(seen, "X-Request-Id"), "r-1");
  EXPECT_EQ(HeaderValue(seen, "User-Agent"), "pcusage-test/1");
  EXPECT_THAT(HeaderValue(seen, "Accept-Encoding"), HasSubstr("gzip"));
}

// httplib drops empty header values, so this one is checked on the wire.
TEST_F(CurlTransportTest, SendsHeaderWithEmptyValue) {
  OneShotServer server("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_GT(server.port(), 0);
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/empty");
  request.headers = {{"X-Empty", ""}};

  absl::StatusOr<HttpResponse> response = transport_->Send(request);

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 204);
  EXPECT_THAT(server.request(), HasSubstr("\r\nX-Empty:\r\n"));
}

TEST_F(CurlTransportTest, RejectsHeaderInjectionWithoutSending) {
  const std::vector<HttpHeader> bad_headers = {
      {"X-Ok", "a\r\nX-Injected: 1"}, {"X-Ok", "a\nb"}, {"X-Ok", "a\rb"}, {"X-Bad\r\nName", "v"}, {"", "v"}};
  for (const HttpHeader& bad : bad_headers) {
    HttpRequest request;
    request.url = Url("/hello");
    request.headers = {{"Accept", "application/json"}, bad};

    absl::StatusOr<HttpResponse> response = transport_->Send(request);

    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << response.status();
    EXPECT_THAT(response.status().message(), Not(HasSubstr("Injected")));
  }
  EXPECT_EQ(requests(), 0);
}

TEST_F(CurlTransportTest, NonPositiveTimeoutFailsWithoutSending) {
  HttpRequest request;
  request.url = Url("/hello");
  request.timeout = absl::ZeroDuration();

  EXPECT_EQ(transport_->Send(request).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(requests(), 0);
}

TEST_F(CurlTransportTest, TimeoutIsDeadlineExceeded) {
  HttpRequest request;
  request.url = Url("/slow");
  request.timeout = absl::Milliseconds(200);
  const absl::Time start = absl::Now();

  absl::StatusOr<HttpResponse> response = transport_->Send(request);

  // The code alone proves the timeout fired before the 2 s handler answered; the bound only guards against a hang.
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST_F(CurlTransportTest, BodyPastLimitIsResourceExhausted) {
  CurlTransportOptions options;
  options.max_response_bytes = 1000;
  transport_ = std::make_unique<CurlTransport>(options);

  absl::StatusOr<HttpResponse> at_limit = Get("/bytes/1000");
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->body.size(), 1000u);

  for (const char* path : {"/bytes/1001", "/bytes/5000000"}) {
    absl::StatusOr<HttpResponse> response = Get(path);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted) << response.status();
    EXPECT_THAT(response.status().message(), HasSubstr("response body exceeded 1000 bytes"));
  }
}

TEST_F(CurlTransportTest, CancellationStopsSlowAndSilentTransfers) {
  for (const char* path : {"/stream", "/slow"}) {
    HttpRequest request;
    request.url = Url(path);
    const absl::Time start = absl::Now();
    request.is_cancelled = [start] { return absl::Now() - start > absl::Milliseconds(200); };

    absl::StatusOr<HttpResponse> response = transport_->Send(request);

    // CANCELLED proves the transfer was aborted rather than finished; the bound only guards against a hang.
    EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled) << path << ": " << response.status();
    EXPECT_LT(absl::Now() - start, absl::Seconds(30)) << path;
  }
}

TEST_F(CurlTransportTest, CancelledBeforeStartSendsNothing) {
  HttpRequest request;
  request.url = Url("/hello");
  request.is_cancelled = [] { return true; };

  EXPECT_EQ(transport_->Send(request).status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(requests(), 0);
}

TEST_F(CurlTransportTest, ConnectionRefusedIsUnavailable) {
  const int port = ClosedPort();
  ASSERT_GT(port, 0);
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", port, "/v1/usage");

  absl::StatusOr<HttpResponse> response = transport_->Send(request);

  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("/v1/usage"));
}

TEST_F(CurlTransportTest, TruncatedBodyIsUnavailable) {
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":");
  ASSERT_GT(server.port(), 0);
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/truncated");

  absl::StatusOr<HttpResponse> response = transport_->Send(request);

  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
}

TEST_F(CurlTransportTest, KeepsOnlyFinalResponseHeaders) {
  OneShotServer server(
      "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nok");
  ASSERT_GT(server.port(), 0);
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/interim");

  absl::StatusOr<HttpResponse> response = transport_->Send(request);

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_EQ(response->body, "ok");
  EXPECT_THAT(response->Header("x-final"), Optional(std::string("yes")));
  EXPECT_EQ(response->Header("x-interim"), std::nullopt);
}

TEST_F(CurlTransportTest, DecodesGzipBody) {
  absl::StatusOr<HttpResponse> response = Get("/gzip");

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "hello, gzip");
}

TEST_F(CurlTransportTest, ReturnsRedirectsWithoutFollowing) {
  absl::StatusOr<HttpResponse> response = Get("/redirect");

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 302);
  EXPECT_THAT(response->Header("location"), Optional(std::string("/hello")));
  EXPECT_EQ(requests(), 1);
}

TEST_F(CurlTransportTest, RejectsOtherSchemesAndMalformedUrls) {
  for (const char* url : {"file:///etc/hostname", "ftp://127.0.0.1/x", "gopher://127.0.0.1/x", "http://[::1"}) {
    HttpRequest request;
    request.url = url;

    absl::StatusOr<HttpResponse> response = transport_->Send(request);

    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << url << ": " << response.status();
  }
}

// Answers each request on each connection with the next of `responses`, as raw bytes; counts the connections.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::string> responses) : responses_(std::move(responses)) {
    listen_fd_ = BindLoopback();
    if (listen_fd_ < 0 || listen(listen_fd_, 4) != 0) return;
    port_ = BoundPort(listen_fd_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) close(listen_fd_);
  }
  int port() const { return port_; }
  int connections() {
    if (thread_.joinable()) thread_.join();
    return connections_;
  }

 private:
  void Serve() {
    std::size_t next = 0;
    while (next < responses_.size()) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      ++connections_;
      timeval receive_timeout = {2, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof(receive_timeout));
      std::string received;
      char buffer[4096];
      while (next < responses_.size()) {
        const std::size_t end = received.find("\r\n\r\n");
        if (end == std::string::npos) {
          const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
          if (n <= 0) break;  // the client closed this connection: expect a new one
          received.append(buffer, static_cast<std::size_t>(n));
          continue;
        }
        received.erase(0, end + 4);
        // "\f" splits a response into what is sent at once and what follows 50 ms later.
        const std::string& response = responses_[next];
        const std::size_t split = response.find('\f');
        send(fd, response.data(), std::min(split, response.size()), MSG_NOSIGNAL);
        if (split != std::string::npos) {
          absl::SleepFor(absl::Milliseconds(50));
          send(fd, response.data() + split + 1, response.size() - split - 1, MSG_NOSIGNAL);
        }
        ++next;
      }
      close(fd);
    }
  }

  std::vector<std::string> responses_;
  int listen_fd_ = -1;
  int port_ = -1;
  int connections_ = 0;
  std::thread thread_;
};

TEST_F(CurlTransportTest, AnAnswerThatIsNotHttpIsInternal) {
  OneShotServer server("hello, this is not HTTP\r\n");
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/x");
  absl::StatusOr<HttpResponse> response = transport_->Send(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInternal) << response.status();
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("not HTTP/1.x"));
}

TEST_F(CurlTransportTest, BytesPastTheBodyNeverAnswerTheNextRequest) {
  ScriptedServer server(
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nLEFTOVER",
       "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"});
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/x");
  absl::StatusOr<HttpResponse> first = transport_->Send(request);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->body, "first");
  absl::StatusOr<HttpResponse> second = transport_->Send(request);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "second");
  EXPECT_EQ(server.connections(), 2);  // the connection that sent too much was not used again
}

TEST_F(CurlTransportTest, BytesArrivingAfterTheBodyNeverAnswerTheNextRequest) {
  ScriptedServer server(
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst\fHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nLEFTOVER",
       "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"});
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/x");
  absl::StatusOr<HttpResponse> first = transport_->Send(request);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::SleepFor(absl::Milliseconds(100));  // the stray bytes are waiting on the idle connection
  absl::StatusOr<HttpResponse> second = transport_->Send(request);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "second");
}

TEST_F(CurlTransportTest, ContradictoryContentLengthsAreNotAnAnswer) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 13\r\n\r\nfirstLEFTOVER!",
                         "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"});
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/x");
  absl::StatusOr<HttpResponse> first = transport_->Send(request);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable) << "a framing the peer contradicts was trusted";
  EXPECT_THAT(std::string(first.status().message()), HasSubstr("contradictory Content-Length"));
  absl::StatusOr<HttpResponse> second = transport_->Send(request);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "second");
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(CurlTransportTest, RepeatedEqualContentLengthsAreOneAnswer) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nfirst",
                         "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"});
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/x");
  absl::StatusOr<HttpResponse> first = transport_->Send(request);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->body, "first");
  absl::StatusOr<HttpResponse> second = transport_->Send(request);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "second");
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(CurlTransportTest, ChunkedAnswerWithContentLengthClosesItsConnection) {
  ScriptedServer server(
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n0\r\n\r\n",
       "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"});
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/x");
  absl::StatusOr<HttpResponse> first = transport_->Send(request);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->body, "first");
  absl::StatusOr<HttpResponse> second = transport_->Send(request);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "second");
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(CurlTransportTest, AnAnswerToAnotherRequestClosesItsConnection) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nMS-RequestId: someone-else\r\nContent-Length: 5\r\n\r\nfirst",
                         "HTTP/1.1 200 OK\r\nms-requestid: MINE\r\nContent-Length: 6\r\n\r\nsecond"});
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/x");
  request.headers = {{"MS-RequestId", "mine"}};
  request.echoed_header = "MS-RequestId";
  absl::StatusOr<HttpResponse> first = transport_->Send(request);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable) << first.status();
  EXPECT_THAT(std::string(first.status().message()), HasSubstr("someone-else"));
  absl::StatusOr<HttpResponse> second = transport_->Send(request);  // the echo is compared without case
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "second");
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(CurlTransportTest, ReusesConnectionAcrossGets) {
  absl::StatusOr<HttpResponse> first = Get("/peer");
  absl::StatusOr<HttpResponse> second = Get("/peer");

  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->body, second->body);
}

// httplib listens with a backlog of 5, so some of the first 8 connects can wait about 1 s for a SYN retransmit.
TEST_F(CurlTransportTest, ConcurrentGetsAllSucceed) {
  constexpr int kThreads = 8;
  constexpr int kGetsPerThread = 10;
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &successes] {
      for (int i = 0; i < kGetsPerThread; ++i) {
        const std::size_t size = 1000 * (t + 1) + i;
        absl::StatusOr<HttpResponse> response = Get(absl::StrCat("/bytes/", size));
        if (response.ok() && response->status_code == 200 && response->body == std::string(size, 'x')) {
          ++successes;
        } else {
          ADD_FAILURE() << "thread " << t << " get " << i << ": " << response.status();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(successes, kThreads * kGetsPerThread);
}

TEST_F(CurlTransportTest, ErrorMessagesOmitCredentials) {
  CurlTransportOptions options;
  options.max_response_bytes = 10;
  transport_ = std::make_unique<CurlTransport>(options);
  const std::string query = "?token=SECRET-QUERY#SECRET-FRAGMENT";
  const std::vector<std::pair<std::string, absl::StatusCode>> cases = {
      {absl::StrCat("http://user:SECRET-PASSWORD@127.0.0.1:", ClosedPort(), "/v1/usage", query),
       absl::StatusCode::kUnavailable},
      {absl::StrCat("http://user:SECRET-PASSWORD@127.0.0.1:", port_, "/slow", query),
       absl::StatusCode::kDeadlineExceeded},
      {absl::StrCat("http://127.0.0.1:", port_, "/bytes/100", query), absl::StatusCode::kResourceExhausted},
      {absl::StrCat("ftp://user:SECRET-PASSWORD@127.0.0.1/v1/usage", query), absl::StatusCode::kInvalidArgument},
  };
  for (const auto& [url, code] : cases) {
    HttpRequest request;
    request.url = url;
    request.timeout = absl::Milliseconds(300);
    request.headers = {{"Authorization", "Bearer SECRET-HEADER"}};

    absl::StatusOr<HttpResponse> response = transport_->Send(request);

    EXPECT_EQ(response.status().code(), code) << response.status();
    EXPECT_THAT(response.status().message(), AllOf(HasSubstr("127.0.0.1"), Not(HasSubstr("SECRET"))));
  }
}

TEST_F(CurlTransportTest, PostSendsTheBody) {
  HttpRequest request;
  request.method = "POST";
  request.url = Url("/echo");
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  request.body = "grant_type=refresh_token&a=b%20c";
  absl::StatusOr<HttpResponse> response = transport_->Send(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "POST application/x-www-form-urlencoded grant_type=refresh_token&a=b%20c");
}

TEST_F(CurlTransportTest, OtherMethodsAreRejected) {
  HttpRequest request;
  request.method = "DELETE";
  request.url = Url("/hello");
  EXPECT_EQ(transport_->Send(request).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pcusage::http
