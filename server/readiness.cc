#include "server/readiness.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/log.h"

namespace pcusage {
namespace {

class ObservedTransport final : public http::HttpTransport {
 public:
  ObservedTransport(std::shared_ptr<http::HttpTransport> transport, std::shared_ptr<Readiness> readiness)
      : transport_(std::move(transport)), readiness_(std::move(readiness)) {}

  absl::StatusOr<http::HttpResponse> Send(const http::HttpRequest& request) override {
    absl::StatusOr<http::HttpResponse> response = transport_->Send(request);
    switch (response.status().code()) {
      case absl::StatusCode::kOk:
      case absl::StatusCode::kResourceExhausted:  // it answered, too much
        readiness_->UpstreamAnswered();
        break;
      case absl::StatusCode::kUnavailable:
      case absl::StatusCode::kDeadlineExceeded:
      case absl::StatusCode::kFailedPrecondition:  // its TLS certificate did not verify
        readiness_->UpstreamUnreachable(
            absl::StrCat(http::RedactedUrl(request.url), ": ", response.status().message()));
        break;
      default:  // cancelled, or never sent
        break;
    }
    return response;
  }

 private:
  std::shared_ptr<http::HttpTransport> transport_;
  std::shared_ptr<Readiness> readiness_;
};

class ObservedTokenSource final : public tokens::AccessTokenSource {
 public:
  ObservedTokenSource(std::shared_ptr<tokens::AccessTokenSource> source, std::shared_ptr<Readiness> readiness)
      : source_(std::move(source)), readiness_(std::move(readiness)) {}

  absl::StatusOr<std::string> TokenForCall(std::optional<absl::string_view> caller_authorization,
                                           absl::Time deadline) override {
    return Observe(source_->TokenForCall(caller_authorization, deadline));
  }
  absl::StatusOr<std::string> TokenAfterRejection(absl::string_view rejected, absl::Time deadline) override {
    absl::StatusOr<std::string> token = source_->TokenAfterRejection(rejected, deadline);
    if (token.status().code() == absl::StatusCode::kNotFound) return token;  // none to offer: not a failure
    return Observe(std::move(token));
  }
  bool TokensComeFromCallers() const override { return source_->TokensComeFromCallers(); }

 private:
  absl::StatusOr<std::string> Observe(absl::StatusOr<std::string> token) {
    const absl::StatusCode code = token.status().code();
    if (token.ok()) {
      readiness_->TokenObtained();
    } else if (code != absl::StatusCode::kCancelled && code != absl::StatusCode::kDeadlineExceeded) {
      readiness_->TokenFailed(token.status().message());
    }
    return token;
  }

  std::shared_ptr<tokens::AccessTokenSource> source_;
  std::shared_ptr<Readiness> readiness_;
};

}  // namespace

Readiness::Readiness(ReadinessOptions options) : options_(options) {}

Readiness::~Readiness() { StopProbe(); }

void Readiness::StopProbe() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (prober_.joinable()) prober_.join();
}

void Readiness::SetPublisher(Publish publish) {
  absl::MutexLock lock(&mu_);
  publish_ = std::move(publish);
  published_ = ReadyLocked();
  if (publish_ && !frozen_) publish_(published_);
}

void Readiness::StartProbe(Probe probe) {
  if (options_.probe_interval <= absl::ZeroDuration() || prober_.joinable()) return;
  prober_ = std::thread([this, probe = std::move(probe)] { ProbeLoop(probe); });
}

void Readiness::Freeze() {
  absl::MutexLock lock(&mu_);
  frozen_ = true;
}

void Readiness::UpstreamAnswered() {
  absl::MutexLock lock(&mu_);
  consecutive_unreachable_ = 0;
  PublishIfChangedLocked("Partner Center answered");
}

void Readiness::UpstreamUnreachable(absl::string_view why) {
  absl::MutexLock lock(&mu_);
  ++consecutive_unreachable_;
  PublishIfChangedLocked(
      absl::StrCat(consecutive_unreachable_, " upstream requests in a row got no answer; the last: ", why));
}

void Readiness::TokenObtained() {
  absl::MutexLock lock(&mu_);
  token_ok_ = true;
  PublishIfChangedLocked("the server-held credentials gave a token");
}

void Readiness::TokenFailed(absl::string_view why) {
  absl::MutexLock lock(&mu_);
  token_ok_ = false;
  PublishIfChangedLocked(absl::StrCat("the server-held credentials gave no token: ", why));
}

bool Readiness::ready() const {
  absl::MutexLock lock(&mu_);
  return ReadyLocked();
}

bool Readiness::ReadyLocked() const { return token_ok_ && consecutive_unreachable_ < options_.failures_to_unready; }

void Readiness::PublishIfChangedLocked(absl::string_view why) {
  const bool ready = ReadyLocked();
  if (ready == published_) return;
  published_ = ready;
  LogEvent(ready ? LogLevel::kInfo : LogLevel::kWarning,
           ready ? "ready: health SERVING again" : "not ready: health NOT_SERVING", {{"why", why}});
  if (publish_ && !frozen_) publish_(ready);
}

void Readiness::ProbeLoop(const Probe& probe) {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      const auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      mu_.AwaitWithTimeout(absl::Condition(&stop), options_.probe_interval);
      if (stopping_) return;
      if (ReadyLocked() || frozen_) continue;
    }
    probe();
  }
}

std::shared_ptr<http::HttpTransport> ObservedForReadiness(std::shared_ptr<http::HttpTransport> transport,
                                                          std::shared_ptr<Readiness> readiness) {
  return std::make_shared<ObservedTransport>(std::move(transport), std::move(readiness));
}

std::shared_ptr<tokens::AccessTokenSource> ObservedForReadiness(std::shared_ptr<tokens::AccessTokenSource> source,
                                                                std::shared_ptr<Readiness> readiness) {
  return std::make_shared<ObservedTokenSource>(std::move(source), std::move(readiness));
}

Readiness::Probe ReadinessProbe(std::shared_ptr<http::HttpTransport> transport,
                                std::shared_ptr<tokens::AccessTokenSource> source, std::string base_url) {
  return [transport = std::move(transport), source = std::move(source), base_url = std::move(base_url)] {
    constexpr absl::Duration kProbeTimeout = absl::Seconds(10);
    if (!source->TokensComeFromCallers() && !source->TokenForCall(std::nullopt, absl::Now() + kProbeTimeout).ok()) {
      return;
    }
    http::HttpRequest request;
    request.url = base_url;
    request.timeout = kProbeTimeout;
    transport->Send(request).IgnoreError();
  };
}

}  // namespace pcusage
