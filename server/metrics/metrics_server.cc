#include "server/metrics/metrics_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"
#include "server/common/loopback.h"

namespace pcusage::metrics {
namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr int kWaitingPerThread = 4;

// cpp-httplib's task queue with bounds: `threads` workers, and at most `capacity` accepted connections waiting for
// one. When it is full the listener thread waits for room, so further connections stay in the kernel's backlog.
class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(int threads, std::size_t capacity) : capacity_(capacity) {
    workers_.reserve(threads);
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~BoundedTaskQueue() override = default;
  BoundedTaskQueue(const BoundedTaskQueue&) = delete;
  BoundedTaskQueue& operator=(const BoundedTaskQueue&) = delete;

  void enqueue(std::function<void()> job) override {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BoundedTaskQueue::HasRoom));
    jobs_.push_back(std::move(job));
  }

  // Runs the jobs already queued, then joins the workers.
  void shutdown() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& worker : workers_) worker.join();
  }

 private:
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return jobs_.size() < capacity_; }
  bool HasJobOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !jobs_.empty() || stopping_; }

  void Work() {
    for (;;) {
      std::function<void()> job;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &BoundedTaskQueue::HasJobOrStopping));
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  const std::size_t capacity_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

// The flag's forms without a host ("9464", ":9464") on loopback.
std::string WithDefaultHost(absl::string_view listen) {
  if (absl::StartsWith(listen, ":")) return absl::StrCat("127.0.0.1", listen);
  if (!listen.empty() && std::all_of(listen.begin(), listen.end(),
                                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); })) {
    return absl::StrCat("127.0.0.1:", listen);
  }
  return std::string(listen);
}

int64_t WholeSeconds(absl::Duration duration) { return std::max<int64_t>(1, absl::ToInt64Seconds(duration)); }

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const Registry& registry,
                                                                    const MetricsServerOptions& options) {
  if (options.threads < 1) return absl::InvalidArgumentError("the metrics listener needs at least one thread");
  absl::StatusOr<ListenAddress> address = ResolveListenAddress(WithDefaultHost(options.listen));
  if (!address.ok()) return address.status();
  const std::size_t colon = address->bind.rfind(':');
  if (absl::StartsWith(address->bind, "unix") || colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", options.listen, "' is not host:port"));
  }
  std::string host = address->bind.substr(0, colon);
  if (absl::StartsWith(host, "[")) host = host.substr(1, host.size() - 2);
  int port = 0;
  if (!absl::SimpleAtoi(address->bind.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat("'", options.listen, "' has no port"));
  }

  auto server = std::make_unique<httplib::Server>();
  // httplib's default socket options add SO_REUSEPORT, which would let another process bind the same port.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const int threads = options.threads;
  server->new_task_queue = [threads] {
    return new BoundedTaskQueue(threads, static_cast<std::size_t>(threads) * kWaitingPerThread);
  };
  server->set_read_timeout(WholeSeconds(options.read_timeout));
  server->set_write_timeout(WholeSeconds(options.write_timeout));
  server->set_keep_alive_timeout(WholeSeconds(options.keep_alive_timeout));
  server->set_keep_alive_max_count(std::max(1, options.keep_alive_max_requests));
  server->set_payload_max_length(1024);
  server->Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry.Render(), kContentType);
  });

  if (port == 0) {
    port = server->bind_to_any_port(host);
  } else if (!server->bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address->bind, " (--metrics_listen=",
                                               options.listen, "): address in use, or not on this machine"));
  }
  std::unique_ptr<MetricsServer> started(new MetricsServer(std::move(server), host, port, address->loopback));
  auto returned = std::make_shared<std::atomic<bool>>(false);
  httplib::Server* listening = started->server_.get();
  started->listener_ = std::thread([listening, returned] {
    listening->listen_after_bind();
    returned->store(true);
  });
  // stop() only stops a server that is running: wait until it is, so the destructor can always stop it.
  while (!listening->is_running() && !returned->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return started;
}

MetricsServer::MetricsServer(std::unique_ptr<httplib::Server> server, std::string host, int port, bool loopback)
    : server_(std::move(server)), host_(std::move(host)), port_(port), loopback_(loopback) {}

MetricsServer::~MetricsServer() {
  server_->stop();
  if (listener_.joinable()) listener_.join();
}

std::string MetricsServer::url() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return absl::StrCat("http://", v6 ? "[" : "", host_, v6 ? "]" : "", ":", port_, "/metrics");
}

}  // namespace pcusage::metrics
