// Issue 16's question, measured: does gRPC's callback API (ServerWriteReactor) remove the handler thread a held
// server-streaming call costs with the synchronous API? One program, two roles (docs/benchmarks.md, "Synchronous vs
// callback API (issue 16)"; bench/sync_vs_callback/run drives both):
//
//   --role=server --api=sync|callback   serves partnercenter.usage.v1.UsageRecordsService on loopback:
//     WatchBudgets      writes one event, then holds the stream until the caller cancels. sync: on its handler
//                       thread, looking at the call every 100 ms as server/watch_budgets_service.cc does between
//                       polls; callback: a reactor that waits for OnCancel, holding no thread.
//     ListUsageRecords  writes --messages_per_call small messages and ends OK: a short stream.
//     Both use gRPC's thread quota (--max_threads, as pcusage_server's ResourceQuota) and --max_streams_per_connection.
//   --role=client --phase=hold --streams=N --server_pid=PID   opens N WatchBudgets streams on N/100 connections,
//     waits until each has its first event or has failed, samples the server's /proc (threads, RSS, fds, CPU while
//     the streams are idle), times --probe_calls fresh short calls made one after another on a new connection,
//     cancels the N streams and samples again.
//   --role=client --phase=short --calls=K --client_threads=T   K short calls from T threads (one connection each):
//     calls/s, latency and the server's CPU.
//
// The client prints one JSON object on stdout.
#include <dirent.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/resource_quota.h"
#include "partnercenter/usage/v1/usage_records.grpc.pb.h"

ABSL_FLAG(std::string, role, "", "server or client");
ABSL_FLAG(std::string, api, "sync",
          "server: sync (grpc::Service, a handler thread per call) or callback "
          "(grpc::CallbackService, reactors)");
ABSL_FLAG(std::string, listen, "127.0.0.1:0", "server: address to listen on");
ABSL_FLAG(std::string, port_file, "", "server: where to write the port it listens on");
ABSL_FLAG(int, max_threads, 128, "server: grpc::ResourceQuota::SetMaxThreads (pcusage_server's --max_threads)");
ABSL_FLAG(int, max_streams_per_connection, 100, "server: HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS");
ABSL_FLAG(int, messages_per_call, 10, "server: messages a ListUsageRecords call writes");
ABSL_FLAG(std::string, target, "", "client: the server's host:port");
ABSL_FLAG(int, server_pid, 0, "client: the server's process id, for /proc");
ABSL_FLAG(std::string, phase, "hold", "client: hold (N held streams) or short (short-call throughput)");
ABSL_FLAG(int, streams, 100, "client, hold: WatchBudgets streams to hold");
ABSL_FLAG(int, streams_per_connection, 100, "client, hold: streams per connection");
ABSL_FLAG(int, probe_calls, 20, "client, hold: short calls timed while the streams are held");
ABSL_FLAG(int, calls, 10000, "client, short: calls in all");
ABSL_FLAG(int, client_threads, 4, "client, short: threads making them, one connection each");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(60), "client: the longest any step may take");

namespace pcusage::bench {
namespace {

namespace v1 = ::partnercenter::usage::v1;

// How often a held synchronous watch looks at its call: server/watch_budgets_service.h's kWatchWakeInterval.
constexpr absl::Duration kWakeInterval = absl::Milliseconds(100);

// What ListUsageRecords writes: one small record a message.
v1::ListUsageRecordsResponse ShortMessage() {
  v1::ListUsageRecordsResponse response;
  v1::CustomerMonthlyUsageRecord& record = *response.add_usage_records();
  record.set_id("0f9a7b1e-4b7e-4a51-9a27-6d1b6f8b2c11");
  record.set_resource_id(record.id());
  record.set_name("Bench Customer");
  record.set_currency_code("SEK");
  record.mutable_percent_used()->set_value("42.5");
  return response;
}

v1::WatchBudgetsResponse FirstEvent() {
  v1::WatchBudgetsResponse event;
  event.mutable_initial_state_complete()->set_matching_customers(0);
  return event;
}

grpc::Status CallerGone() { return {grpc::StatusCode::CANCELLED, "the caller went away"}; }

class SyncService final : public v1::UsageRecordsService::Service {
 public:
  explicit SyncService(int messages_per_call) : messages_per_call_(messages_per_call) {}

  grpc::Status ListUsageRecords(grpc::ServerContext* /*context*/, const v1::ListUsageRecordsRequest* /*request*/,
                                grpc::ServerWriter<v1::ListUsageRecordsResponse>* writer) override {
    for (int i = 0; i < messages_per_call_; ++i) {
      if (!writer->Write(message_)) return CallerGone();
    }
    return grpc::Status::OK;
  }

  grpc::Status WatchBudgets(grpc::ServerContext* context, const v1::WatchBudgetsRequest* /*request*/,
                            grpc::ServerWriter<v1::WatchBudgetsResponse>* writer) override {
    if (!writer->Write(first_event_)) return CallerGone();
    while (!context->IsCancelled()) absl::SleepFor(kWakeInterval);
    return CallerGone();
  }

 private:
  const int messages_per_call_;
  const v1::ListUsageRecordsResponse message_ = ShortMessage();
  const v1::WatchBudgetsResponse first_event_ = FirstEvent();
};

// A short stream: --messages_per_call writes, one after the other, then OK.
class ShortStream final : public grpc::ServerWriteReactor<v1::ListUsageRecordsResponse> {
 public:
  ShortStream(const v1::ListUsageRecordsResponse* message, int messages) : message_(message), left_(messages) {
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(CallerGone());
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (left_ == 0) {
      Finish(grpc::Status::OK);
      return;
    }
    --left_;
    StartWrite(message_);
  }

  const v1::ListUsageRecordsResponse* const message_;
  int left_;
};

// A held watch: the first event, then nothing until the caller cancels. Between its callbacks it holds no thread.
class HeldWatch final : public grpc::ServerWriteReactor<v1::WatchBudgetsResponse> {
 public:
  explicit HeldWatch(const v1::WatchBudgetsResponse* first_event) { StartWrite(first_event); }

  void OnWriteDone(bool /*ok*/) override {}
  void OnCancel() override { Finish(CallerGone()); }
  void OnDone() override { delete this; }
};

class CallbackService final : public v1::UsageRecordsService::CallbackService {
 public:
  explicit CallbackService(int messages_per_call) : messages_per_call_(messages_per_call) {}

  grpc::ServerWriteReactor<v1::ListUsageRecordsResponse>* ListUsageRecords(
      grpc::CallbackServerContext* /*context*/, const v1::ListUsageRecordsRequest* /*request*/) override {
    return new ShortStream(&message_, messages_per_call_);
  }

  grpc::ServerWriteReactor<v1::WatchBudgetsResponse>* WatchBudgets(
      grpc::CallbackServerContext* /*context*/, const v1::WatchBudgetsRequest* /*request*/) override {
    return new HeldWatch(&first_event_);
  }

 private:
  const int messages_per_call_;
  const v1::ListUsageRecordsResponse message_ = ShortMessage();
  const v1::WatchBudgetsResponse first_event_ = FirstEvent();
};

int Serve() {
  const std::string api = absl::GetFlag(FLAGS_api);
  std::unique_ptr<grpc::Service> service;
  if (api == "sync") {
    service = std::make_unique<SyncService>(absl::GetFlag(FLAGS_messages_per_call));
  } else if (api == "callback") {
    service = std::make_unique<CallbackService>(absl::GetFlag(FLAGS_messages_per_call));
  } else {
    std::cerr << "--api must be sync or callback\n";
    return 2;
  }
  // SIGTERM and SIGINT are taken by sigwait below, so every thread gRPC starts must inherit them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  grpc::ServerBuilder builder;
  grpc::ResourceQuota quota("sync_vs_callback");
  quota.SetMaxThreads(absl::GetFlag(FLAGS_max_threads));
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, absl::GetFlag(FLAGS_max_streams_per_connection));
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "cannot listen on " << absl::GetFlag(FLAGS_listen) << "\n";
    return 1;
  }
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    const std::string partial = port_file + ".tmp";
    std::ofstream(partial) << port << "\n";
    std::rename(partial.c_str(), port_file.c_str());
  }
  std::cerr << "serving the " << api << " API on port " << port << "\n";
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Client.

struct ProcSample {
  int threads = 0;
  double rss_mib = 0;
  double hwm_mib = 0;
  int fds = 0;
  double cpu_s = 0;
};

ProcSample Sample(int pid) {
  ProcSample sample;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string key;
    double value = 0;
    fields >> key >> value;
    if (key == "Threads:") sample.threads = static_cast<int>(value);
    if (key == "VmRSS:") sample.rss_mib = value / 1024;
    if (key == "VmHWM:") sample.hwm_mib = value / 1024;
  }
  if (DIR* fds = opendir(absl::StrCat("/proc/", pid, "/fd").c_str()); fds != nullptr) {
    while (const dirent* entry = readdir(fds)) sample.fds += entry->d_name[0] != '.';
    closedir(fds);
  }
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  const std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Past the ")" that ends the command name: state is field 3, utime and stime fields 14 and 15.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::vector<std::string> values{std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>()};
  if (values.size() > 12) {
    sample.cpu_s = static_cast<double>(std::stoll(values[11]) + std::stoll(values[12])) /
                   static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return sample;
}

std::string Json(const ProcSample& sample) {
  return absl::StrFormat(R"({"threads":%d,"rss_mib":%.1f,"hwm_mib":%.1f,"fds":%d,"cpu_s":%.2f})", sample.threads,
                         sample.rss_mib, sample.hwm_mib, sample.fds, sample.cpu_s);
}

std::string Json(const std::map<std::string, int>& counts) {
  std::vector<std::string> members;
  members.reserve(counts.size());
  for (const auto& [key, count] : counts) members.push_back(absl::StrFormat(R"("%s":%d)", key, count));
  return absl::StrCat("{", absl::StrJoin(members, ","), "}");
}

double ClientCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    default:
      return absl::StrCat("code_", static_cast<int>(code));
  }
}

// A connection of its own: channels with a local subchannel pool share no TCP connection.
std::shared_ptr<grpc::Channel> NewConnection(const std::string& target, int index) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  arguments.SetInt("pcusage.bench.connection", index);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), arguments);
  channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return channel;
}

double Percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<size_t>(std::lround(fraction * static_cast<double>(values.size() - 1)));
  return values[std::min(index, values.size() - 1)];
}

// One short call on a blocking stub: reads every message. Returns its status.
grpc::Status ShortCall(v1::UsageRecordsService::Stub& stub, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  const v1::ListUsageRecordsRequest request;
  std::unique_ptr<grpc::ClientReader<v1::ListUsageRecordsResponse>> reader = stub.ListUsageRecords(&context, request);
  v1::ListUsageRecordsResponse response;
  while (reader->Read(&response)) {
  }
  return reader->Finish();
}

// Counts the held streams' progress: first events, and ends with their codes.
class Tally {
 public:
  void FirstEvent() {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++first_events_;
    changed_.notify_all();
  }

  void Done(const grpc::Status& status, bool had_first_event) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++done_;
    if (!had_first_event && refused_.empty()) first_refusal_ = status.error_message();
    if (!had_first_event) ++refused_[CodeName(status.error_code())];
    if (had_first_event) ++ended_[CodeName(status.error_code())];
    changed_.notify_all();
  }

  // Waits until every one of `streams` has had its first event or ended without one; false at `deadline`.
  bool WaitSettled(int streams, absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_until(lock, absl::ToChronoTime(deadline), [&] {
      int refused = 0;
      for (const auto& [code, count] : refused_) refused += count;
      return first_events_ + refused >= streams;
    });
  }

  bool WaitDone(int streams, absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_until(lock, absl::ToChronoTime(deadline), [&] { return done_ >= streams; });
  }

  int first_events() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return first_events_;
  }
  std::map<std::string, int> refused() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return refused_;
  }
  std::string first_refusal() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return first_refusal_;
  }
  std::map<std::string, int> ended() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return ended_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int first_events_ = 0;
  int done_ = 0;
  std::map<std::string, int> refused_;  // ended before their first event, by code
  std::string first_refusal_;           // the first of those ends' message
  std::map<std::string, int> ended_;    // ended after it, by code
};

// One held WatchBudgets stream on the client's side: reads until the call ends, which is when it is cancelled.
class WatchStream final : public grpc::ClientReadReactor<v1::WatchBudgetsResponse> {
 public:
  WatchStream(v1::UsageRecordsService::Stub& stub, Tally& tally, absl::Duration timeout) : tally_(tally) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    stub.async()->WatchBudgets(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (!had_first_event_) {
      had_first_event_ = true;
      tally_.FirstEvent();
    }
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override { tally_.Done(status, had_first_event_); }

  void Cancel() { context_.TryCancel(); }

 private:
  Tally& tally_;
  grpc::ClientContext context_;
  const v1::WatchBudgetsRequest request_;
  v1::WatchBudgetsResponse event_;
  bool had_first_event_ = false;  // touched only by the reactor's callbacks, which gRPC runs one at a time
};

int Hold(const std::string& target, int pid) {
  const int streams = absl::GetFlag(FLAGS_streams);
  const int per_connection = std::max(1, absl::GetFlag(FLAGS_streams_per_connection));
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  const ProcSample idle = Sample(pid);

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::UsageRecordsService::Stub>> stubs;
  for (int i = 0; i < (streams + per_connection - 1) / per_connection; ++i) {
    channels.push_back(NewConnection(target, i));
    stubs.push_back(v1::UsageRecordsService::NewStub(channels.back()));
  }
  Tally tally;
  std::vector<std::unique_ptr<WatchStream>> watches;
  watches.reserve(streams);
  const absl::Time opening = absl::Now();
  for (int i = 0; i < streams; ++i) {
    watches.push_back(std::make_unique<WatchStream>(*stubs[i / per_connection], tally, timeout * 10));
  }
  const bool settled = tally.WaitSettled(streams, absl::Now() + timeout);
  const double open_s = absl::ToDoubleSeconds(absl::Now() - opening);
  // Threads a sync server started for calls it then refused need a moment to go.
  absl::SleepFor(absl::Seconds(1));
  const ProcSample held = Sample(pid);
  absl::SleepFor(absl::Seconds(2));
  const ProcSample held_later = Sample(pid);

  std::vector<double> probe_ms;
  std::map<std::string, int> probe_codes;
  {
    const std::shared_ptr<grpc::Channel> channel = NewConnection(target, -1);
    const std::unique_ptr<v1::UsageRecordsService::Stub> stub = v1::UsageRecordsService::NewStub(channel);
    for (int i = 0; i < absl::GetFlag(FLAGS_probe_calls); ++i) {
      const absl::Time start = absl::Now();
      const grpc::Status status = ShortCall(*stub, absl::Seconds(5));
      probe_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      ++probe_codes[CodeName(status.error_code())];
    }
  }

  const absl::Time cancelling = absl::Now();
  for (const std::unique_ptr<WatchStream>& watch : watches) watch->Cancel();
  const bool all_done = tally.WaitDone(streams, absl::Now() + timeout);
  const double cancel_s = absl::ToDoubleSeconds(absl::Now() - cancelling);
  absl::SleepFor(absl::Seconds(2));
  const ProcSample after = Sample(pid);
  if (!all_done) {
    std::cerr << "not every held stream ended; leaving without waiting for them\n";
    std::cout.flush();
    _exit(1);
  }

  std::cout
      << absl::StrFormat(
             R"({"phase":"hold","grpc":"%s","streams":%d,"connections":%d,"settled":%s,"open_s":%.2f,"held":%d,)"
             R"("refused":%s,"refusal":"%s","ended":%s,"idle":%s,"held_sample":%s,"held_cpu_pct":%.1f,"after":%s,)"
             R"("probe":{"codes":%s,"p50_ms":%.2f,"max_ms":%.2f},"cancel_s":%.2f})",
             grpc::Version(), streams, static_cast<int>(channels.size()), settled ? "true" : "false", open_s,
             tally.first_events(), Json(tally.refused()), absl::CEscape(tally.first_refusal()), Json(tally.ended()),
             Json(idle), Json(held), 100 * (held_later.cpu_s - held.cpu_s) / 2, Json(after), Json(probe_codes),
             Percentile(probe_ms, 0.5), Percentile(probe_ms, 1.0), cancel_s)
      << std::endl;
  return settled ? 0 : 1;
}

int Short(const std::string& target, int pid) {
  const int calls = absl::GetFlag(FLAGS_calls);
  const int threads = std::max(1, absl::GetFlag(FLAGS_client_threads));
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  channels.reserve(threads);
  for (int i = 0; i < threads; ++i) channels.push_back(NewConnection(target, i));

  std::atomic<int> next{0};
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::map<std::string, int> codes;
  const ProcSample before = Sample(pid);
  const double client_cpu_before = ClientCpuSeconds();
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const std::unique_ptr<v1::UsageRecordsService::Stub> stub = v1::UsageRecordsService::NewStub(channels[t]);
      std::vector<double> mine;
      std::map<std::string, int> my_codes;
      while (next.fetch_add(1) < calls && absl::Now() - start < timeout) {
        const absl::Time call_start = absl::Now();
        const grpc::Status status = ShortCall(*stub, absl::Seconds(10));
        mine.push_back(absl::ToDoubleMilliseconds(absl::Now() - call_start));
        ++my_codes[CodeName(status.error_code())];
      }
      const std::lock_guard<std::mutex> lock(mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      for (const auto& [code, count] : my_codes) codes[code] += count;
    });
  }
  for (std::thread& worker : workers) worker.join();
  const double wall_s = absl::ToDoubleSeconds(absl::Now() - start);
  const ProcSample after = Sample(pid);
  const double client_cpu_s = ClientCpuSeconds() - client_cpu_before;
  const auto made = static_cast<double>(latencies_ms.size());
  std::cout
      << absl::StrFormat(
             R"({"phase":"short","grpc":"%s","calls":%d,"client_threads":%d,"codes":%s,"wall_s":%.3f,"calls_per_s":%.0f,)"
             R"("server_cpu_s":%.3f,"client_cpu_s":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,"server_threads":%d})",
             grpc::Version(), static_cast<int>(made), threads, Json(codes), wall_s, made / wall_s,
             after.cpu_s - before.cpu_s, client_cpu_s, Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
             after.threads)
      << std::endl;
  return 0;
}

int RunClient() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const int pid = absl::GetFlag(FLAGS_server_pid);
  if (target.empty() || pid <= 0) {
    std::cerr << "--target and --server_pid are required\n";
    return 2;
  }
  const std::string phase = absl::GetFlag(FLAGS_phase);
  if (phase == "hold") return Hold(target, pid);
  if (phase == "short") return Short(target, pid);
  std::cerr << "--phase must be hold or short\n";
  return 2;
}

}  // namespace
}  // namespace pcusage::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string role = absl::GetFlag(FLAGS_role);
  if (role == "server") return pcusage::bench::Serve();
  if (role == "client") return pcusage::bench::RunClient();
  std::cerr << "--role must be server or client\n";
  return 2;
}
