#include "server/partner_center/usage_client.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/common/error_details.h"
#include "server/common/guid.h"
#include "server/common/log.h"
#include "server/common/loopback.h"
#include "server/common/printable.h"
#include "server/common/secrets.h"
#include "server/http/retry_loop.h"

namespace pcusage::partner_center {
namespace {

// A page's identity for loop detection: a hash of where it is and what continuation it carries (the URL and
// continuation tokens themselves can be large, and a call may follow thousands of pages).
std::size_t PageKey(const PagePosition& position) {
  std::vector<std::pair<absl::string_view, absl::string_view>> headers;
  for (const http::HttpHeader& header : position.headers) headers.emplace_back(header.name, header.value);
  return absl::HashOf(position.url, headers);
}

// The Partner Center URL must be https://host[:port][/path] (http:// only on loopback), with nothing that could
// carry credentials or change the request. Returns its scheme://host[:port].
absl::StatusOr<std::string> CheckedOrigin(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "https://") && !(absl::ConsumePrefix(&rest, "http://") && IsLoopbackUrl(url))) {
    return absl::InvalidArgumentError(
        absl::StrCat("Partner Center URL \"", url, "\" must start with https:// (http:// only on a loopback host)"));
  }
  const std::size_t authority_end = std::min(rest.find('/'), rest.size());
  if (authority_end == 0 || absl::StrContains(rest, "?") || absl::StrContains(rest, "#") || HasControlCharacter(rest) ||
      absl::StrContains(rest, " ") || absl::StrContains(rest.substr(0, authority_end), "@")) {
    return absl::InvalidArgumentError(
        absl::StrCat("Partner Center URL \"", url,
                     "\" must be scheme://host[:port][/path], without credentials, query or fragment"));
  }
  return std::string(url.substr(0, url.size() - rest.size() + authority_end));
}

absl::Status CheckOptions(const UsageClientOptions& options) {
  for (const auto& [name, value] : {std::pair<const char*, const std::string&>{"locale", options.locale},
                                    {"application_name", options.application_name},
                                    {"contract_version", options.contract_version}}) {
    if (value.empty() || HasControlCharacter(value)) {
      return absl::InvalidArgumentError(absl::StrCat(name, " must be non-empty text without control characters"));
    }
  }
  if (options.max_pages < 1) return absl::InvalidArgumentError("max_pages must be at least 1");
  if (options.page_timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("page_timeout must be positive");
  if (options.retry.max_attempts < 1) return absl::InvalidArgumentError("retry max_attempts must be at least 1");
  if (options.retry.initial_backoff < absl::ZeroDuration() || options.retry.max_backoff < absl::ZeroDuration() ||
      options.retry.backoff_multiplier < 1.0) {
    return absl::InvalidArgumentError("retry backoff must be non-negative with a multiplier of at least 1");
  }
  return absl::OkStatus();
}

}  // namespace

// The pages of one call, fetched as they are pulled.
class LiveWalk final : public PageSource {
 public:
  LiveWalk(const UsageClient& client, ListCall call, PagePosition start)
      : client_(client),
        call_(std::move(call)),
        token_hold_(HoldSecret(call_.access_token)),
        position_(std::move(start)) {
    // Cancel() stops transfers and waits the same way the caller's own cancellation does.
    call_.is_cancelled = [this, caller_left = std::move(call_.is_cancelled)] {
      return cancelled_.load() || (caller_left && caller_left());
    };
  }

  void Cancel() override { cancelled_.store(true); }

  absl::StatusOr<std::optional<FetchedPage>> Next() override {
    if (!status_.ok()) return status_;
    if (!position_.has_value()) return std::nullopt;
    absl::StatusOr<FetchedPage> page = FetchPage(*position_);
    if (!page.ok()) {
      status_ = WithErrorMetadata(page.status(), "ms_correlation_id", call_.correlation_id);
      position_.reset();
      return status_;
    }
    position_ = page->next;
    page->index_in_walk = pages_returned_++;
    records_delivered_ += static_cast<int64_t>(page->page.records.size());
    return std::optional<FetchedPage>(*std::move(page));
  }

 private:
  absl::StatusOr<FetchedPage> FetchPage(const PagePosition& position) {
    if (absl::Status guard = CheckPagingGuards(position); !guard.ok()) return guard;
    PageRequest request;
    request.position = position;
    request.access_token = call_.access_token;
    request.correlation_id = call_.correlation_id;
    request.request_id = NewGuid();
    request.is_cancelled = call_.is_cancelled;
    absl::StatusOr<UsageRecordsPage> page = FetchWithRetries(request);
    if (!page.ok()) return page.status();
    std::optional<PagePosition> next;
    if (page->next.has_value()) {
      absl::StatusOr<PagePosition> resolved = client_.NextPosition(*page->next, position.page_number);
      if (!resolved.ok()) {
        return WithErrorInfo(resolved.status(), reason::kPartnerCenterPagingLoop,
                             {{"ms_request_id", request.request_id},
                              {"page", absl::StrCat(position.page_number)},
                              {"attempts", absl::StrCat(request.attempt)}});
      }
      next = *std::move(resolved);
      page->next.reset();
    }
    return FetchedPage{*std::move(page), position, std::move(next)};
  }

  // Fails the call rather than follow links.next for ever or in a circle.
  absl::Status CheckPagingGuards(const PagePosition& position) {
    if (position.page_number > client_.options_.max_pages) {
      return PagingError(absl::StrCat("Partner Center kept sending links.next past ", client_.options_.max_pages,
                                      " pages (--max_pages); stopped after ", records_delivered_, " records"));
    }
    if (!pages_seen_.insert(PageKey(position)).second) {
      return PagingError(absl::StrCat("Partner Center's links.next on page ", position.page_number - 1,
                                      " repeats an earlier page and continuation token; stopped after ",
                                      records_delivered_, " records instead of looping"));
    }
    return absl::OkStatus();
  }

  static absl::Status PagingError(absl::string_view message) {
    return WithErrorInfo(absl::InternalError(message), reason::kPartnerCenterPagingLoop);
  }

  absl::StatusOr<UsageRecordsPage> FetchWithRetries(PageRequest& request) {
    http::RetryScope scope;
    scope.what = absl::StrCat("page ", request.position.page_number);
    scope.trace = DescribePageRequest(request);
    scope.metadata = {{"ms_request_id", request.request_id}, {"page", absl::StrCat(request.position.page_number)}};
    return http::RetryLoop<UsageRecordsPage>(
        client_.retry_policy_, *client_.sleeper_, http::CallBounds{call_.deadline, call_.is_cancelled}, scope,
        [this, &request](int attempt, absl::Duration time_left) { return Attempt(request, attempt, time_left); });
  }

  // One attempt; a 401 may renew the call's token once and send the page again at once, which is not a retry.
  http::Attempt<UsageRecordsPage> Attempt(PageRequest& request, int attempt, absl::Duration time_left) {
    request.attempt = attempt;
    request.timeout = std::min(client_.options_.page_timeout, time_left);
    http::Attempt<UsageRecordsPage> outcome = client_.stub_->FetchPage(request);
    if (outcome.result.ok() || !IsRejectedToken(outcome.result.status()) || !call_.renew_access_token) {
      return outcome;
    }
    const std::string trace = DescribePageRequest(request);
    const auto renew = std::exchange(call_.renew_access_token, nullptr);
    absl::StatusOr<std::string> renewed = renew(call_.access_token);
    if (!renewed.ok() && renewed.status().code() != absl::StatusCode::kNotFound) {
      LogWarning(trace, " -> HTTP 401, and renewing the access token failed: ", renewed.status().message());
      return {WithErrorMetadata(renewed.status(), "page", absl::StrCat(request.position.page_number))};
    }
    if (!renewed.ok() || *renewed == call_.access_token) return outcome;
    LogInfo(trace, " -> HTTP 401; retrying at once with a renewed access token");
    call_.access_token = *renewed;
    renewed_token_hold_ = HoldSecret(call_.access_token);
    request.access_token = *std::move(renewed);
    const absl::Duration left = call_.deadline - client_.sleeper_->Now();
    if (left <= absl::ZeroDuration()) {
      return {WithErrorInfo(absl::DeadlineExceededError(
                                absl::StrCat("the call's deadline passed before page ", request.position.page_number,
                                             " was requested again with the renewed access token")),
                            reason::kDeadlineExceeded)};
    }
    request.timeout = std::min(client_.options_.page_timeout, left);
    return client_.stub_->FetchPage(request);
  }

  static bool IsRejectedToken(const absl::Status& status) {
    const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
    return info.has_value() && info->reason() == reason::kPartnerCenterUnauthenticated;
  }

  const UsageClient& client_;
  std::atomic<bool> cancelled_{false};
  ListCall call_;          // a 401 may renew its token
  SecretHold token_hold_;  // the call's tokens are redacted from what it says (secrets.h)
  SecretHold renewed_token_hold_;
  std::optional<PagePosition> position_;  // the next page to fetch; unset after the last one or an error
  absl::Status status_;
  absl::flat_hash_set<std::size_t> pages_seen_;
  int64_t records_delivered_ = 0;
  int64_t pages_returned_ = 0;
};

absl::StatusOr<std::unique_ptr<UsageClient>> UsageClient::Create(std::shared_ptr<http::HttpTransport> transport,
                                                                 UsageClientOptions options,
                                                                 std::shared_ptr<http::Sleeper> sleeper) {
  if (sleeper == nullptr) sleeper = std::make_shared<http::RealSleeper>();
  PartnerCenterHeaders headers{options.locale, options.application_name, options.contract_version};
  return Create(std::make_shared<RestUsageStub>(std::move(transport), std::move(headers), sleeper), std::move(options),
                sleeper);
}

absl::StatusOr<std::unique_ptr<UsageClient>> UsageClient::Create(std::shared_ptr<UsageStub> stub,
                                                                 UsageClientOptions options,
                                                                 std::shared_ptr<http::Sleeper> sleeper) {
  absl::StatusOr<std::string> origin = CheckedOrigin(options.base_url);
  if (!origin.ok()) return origin.status();
  if (absl::Status status = CheckOptions(options); !status.ok()) return status;
  absl::string_view url = options.base_url;
  while (absl::ConsumeSuffix(&url, "/")) {
  }
  options.base_url = std::string(url);
  if (sleeper == nullptr) sleeper = std::make_shared<http::RealSleeper>();
  return std::unique_ptr<UsageClient>(
      new UsageClient(std::move(stub), std::move(options), *std::move(origin), std::move(sleeper)));
}

UsageClient::UsageClient(std::shared_ptr<UsageStub> stub, UsageClientOptions options, std::string origin,
                         std::shared_ptr<http::Sleeper> sleeper)
    : stub_(std::move(stub)),
      options_(std::move(options)),
      origin_(std::move(origin)),
      sleeper_(std::move(sleeper)),
      retry_policy_(options_.retry) {}

std::unique_ptr<PageSource> UsageClient::ListUsageRecords(ListCall call, PagePosition start) const {
  return std::make_unique<LiveWalk>(*this, std::move(call), std::move(start));
}

PagePosition UsageClient::FirstPage() const {
  PagePosition first;
  first.url = absl::StrCat(options_.base_url, "/", options_.contract_version, "/customers/usagerecords");
  return first;
}

bool UsageClient::IsOnApiHost(absl::string_view url) const { return absl::StartsWithIgnoreCase(url, origin_ + "/"); }

absl::StatusOr<std::string> UsageClient::ResolveNextUri(absl::string_view uri) const {
  if (HasControlCharacter(uri) || absl::StrContains(uri, " ")) {
    return absl::InternalError("Partner Center's links.next.uri contains spaces or control characters");
  }
  if (absl::StartsWithIgnoreCase(uri, "http://") || absl::StartsWithIgnoreCase(uri, "https://") ||
      absl::StartsWith(uri, "//")) {
    const std::string absolute =
        absl::StartsWith(uri, "//") ? absl::StrCat(origin_.substr(0, origin_.find("//")), uri) : std::string(uri);
    if (!IsOnApiHost(absolute)) {
      return absl::InternalError(absl::StrCat("Partner Center's links.next points away from ", origin_, " (to ",
                                              http::RedactedUrl(absolute),
                                              "); not following it, so the access token is not sent elsewhere"));
    }
    return absolute;
  }
  const std::string version_root = absl::StrCat("/", options_.contract_version);
  if (absl::StartsWith(uri, "/")) {
    if (absl::StartsWith(uri, version_root + "/") || absl::StartsWith(uri, version_root + "?")) {
      return absl::StrCat(options_.base_url, uri);
    }
    return absl::StrCat(options_.base_url, version_root, uri);
  }
  return absl::StrCat(options_.base_url, version_root, "/", uri);
}

absl::StatusOr<PagePosition> UsageClient::NextPosition(const NextPageLink& link, int page_number) const {
  std::size_t link_bytes = link.uri.size();
  for (const http::HttpHeader& header : link.headers) link_bytes += header.name.size() + header.value.size();
  if (link_bytes > kMaxNextLinkBytes) {
    return absl::InternalError(absl::StrCat("Partner Center's links.next on page ", page_number, " takes ", link_bytes,
                                            " bytes; more than ", kMaxNextLinkBytes,
                                            " is not followed (nor put in a resume token)"));
  }
  absl::StatusOr<std::string> url = ResolveNextUri(link.uri);
  if (!url.ok()) return url.status();
  PagePosition next;
  next.url = *std::move(url);
  next.page_number = page_number + 1;
  for (const http::HttpHeader& header : link.headers) {
    if (!http::IsHttpHeaderName(header.name) || HasControlCharacter(header.value)) {
      return absl::InternalError(
          absl::StrCat("Partner Center's links.next on page ", page_number, " has a malformed header"));
    }
    if (!IsReservedHeader(header.name)) next.headers.push_back(header);
  }
  return next;
}

}  // namespace pcusage::partner_center
