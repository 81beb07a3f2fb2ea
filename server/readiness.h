// Readiness: whether this replica can serve ListUsageRecords now, published as the health status of
// partnercenter.usage.v1.UsageRecordsService (the overall "" entry only says the process is alive). The rule
// (docs/operations.md): NOT_SERVING while the server-held credentials cannot get a token (their last attempt failed),
// or after `failures_to_unready` upstream requests in a row got no answer at all (connection, TLS, timeout, reset);
// SERVING again once a token is obtained and an upstream request gets any HTTP answer, whether a call's or the
// probe's. While not ready, a probe runs every `probe_interval`: a token from the server-held credentials, then a
// GET of the Partner Center base URL without credentials (any HTTP status proves it reachable; no API quota spent).
#ifndef PCUSAGE_SERVER_READINESS_H_
#define PCUSAGE_SERVER_READINESS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/http/http_transport.h"
#include "server/tokens/access_token_source.h"

namespace pcusage {

struct ReadinessOptions {
  int failures_to_unready = 3;
  absl::Duration probe_interval = absl::Seconds(10);  // zero: no probe (only calls make it ready again)
};

class Readiness {
 public:
  using Publish = std::function<void(bool serving)>;
  using Probe = std::function<void()>;

  explicit Readiness(ReadinessOptions options);
  ~Readiness();  // stops the probe (StopProbe)
  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;

  // Where transitions go (and the state now, at once); and what the probe does (its outcome reaches this object
  // through the observed transport and token source, like a call's). Call each once, before traffic.
  void SetPublisher(Publish publish);
  void StartProbe(Probe probe);
  // From now on nothing is published (the drain owns the health status).
  void Freeze();
  // Ends the probe's thread, and with it the probe (which holds what reports here). Idempotent.
  void StopProbe();

  // Reports, from the observed transport and token source.
  void UpstreamAnswered();
  void UpstreamUnreachable(absl::string_view why);
  void TokenObtained();
  void TokenFailed(absl::string_view why);

  bool ready() const;

 private:
  bool ReadyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Publishes and logs when readiness changed since last published.
  void PublishIfChangedLocked(absl::string_view why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ProbeLoop(const Probe& probe);

  const ReadinessOptions options_;
  mutable absl::Mutex mu_;
  int consecutive_unreachable_ ABSL_GUARDED_BY(mu_) = 0;
  bool token_ok_ ABSL_GUARDED_BY(mu_) = true;
  bool published_ ABSL_GUARDED_BY(mu_) = true;
  bool frozen_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Publish publish_ ABSL_GUARDED_BY(mu_);
  std::thread prober_;
};

// `transport`, reporting to `readiness` whether each request got an answer. Cancelled requests and ones refused
// before they were sent report nothing.
std::shared_ptr<http::HttpTransport> ObservedForReadiness(std::shared_ptr<http::HttpTransport> transport,
                                                          std::shared_ptr<Readiness> readiness);

// `source` (server-held credentials), reporting to `readiness` whether it could give a token. A call's own deadline
// or cancellation reports nothing.
std::shared_ptr<tokens::AccessTokenSource> ObservedForReadiness(std::shared_ptr<tokens::AccessTokenSource> source,
                                                                std::shared_ptr<Readiness> readiness);

// The probe: a token from `source` when it holds the server's credentials, then a GET of `base_url` through
// `transport` (both observed, so the outcome reaches the Readiness they report to).
Readiness::Probe ReadinessProbe(std::shared_ptr<http::HttpTransport> transport,
                                std::shared_ptr<tokens::AccessTokenSource> source, std::string base_url);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_READINESS_H_
