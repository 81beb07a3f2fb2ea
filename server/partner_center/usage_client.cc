#include "server/partner_center/usage_client.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/common/error_details.h"
#include "server/common/guid.h"
#include "server/common/log.h"
#include "server/common/loopback.h"
#include "server/common/printable.h"
#include "server/partner_center/errors.h"

namespace pcusage::partner_center {
namespace {

// Headers pcusage sets itself; links.next may not replace them.
bool IsReservedHeader(absl::string_view name) {
  static constexpr absl::string_view kReserved[] = {
      "authorization",    "accept",   "host",       "content-length",      "ms-requestid",
      "ms-correlationid", "x-locale", "user-agent", "ms-contract-version", "ms-partnercenter-application",
  };
  return std::any_of(std::begin(kReserved), std::end(kReserved),
                     [name](absl::string_view reserved) { return absl::EqualsIgnoreCase(name, reserved); });
}

// A page's identity for loop detection: where it is and what continuation it carries.
std::string PageKey(absl::string_view url, const std::vector<HttpHeader>& headers) {
  std::string key(url);
  for (const HttpHeader& header : headers) absl::StrAppend(&key, "\n", header.name, ":", header.value);
  return key;
}

}  // namespace

absl::StatusOr<std::unique_ptr<UsageClient>> UsageClient::Create(std::shared_ptr<HttpTransport> transport,
                                                                 UsageClientOptions options,
                                                                 std::shared_ptr<Sleeper> sleeper) {
  absl::string_view url = options.base_url;
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
  std::string origin(url.substr(0, url.size() - rest.size() + authority_end));
  while (absl::ConsumeSuffix(&url, "/")) {
  }
  options.base_url = std::string(url);
  if (sleeper == nullptr) sleeper = std::make_shared<RealSleeper>();
  return std::unique_ptr<UsageClient>(
      new UsageClient(std::move(transport), std::move(options), std::move(origin), std::move(sleeper)));
}

UsageClient::UsageClient(std::shared_ptr<HttpTransport> transport, UsageClientOptions options, std::string origin,
                         std::shared_ptr<Sleeper> sleeper)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      origin_(std::move(origin)),
      sleeper_(std::move(sleeper)),
      retry_policy_(options_.retry) {}

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
                                              RedactedUrl(absolute),
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

absl::StatusOr<FetchedPage> UsageClient::FetchPage(ListCall& call, const PagePosition& position) const {
  const std::string request_id = NewGuid();  // the same on every attempt: Partner Center's idempotency key
  const std::string page = absl::StrCat("page ", position.page_number);
  std::map<std::string, std::string> metadata = {{"ms_request_id", request_id},
                                                 {"page", absl::StrCat(position.page_number)}};
  const std::string trace = absl::StrCat(page, " GET ", RedactedUrl(position.url), " [MS-RequestId ", request_id,
                                         ", MS-CorrelationId ", call.correlation_id, "]");

  HttpRequest request;
  request.url = position.url;
  request.is_cancelled = call.is_cancelled;
  request.headers = {
      {"Authorization", absl::StrCat("Bearer ", call.access_token)},
      {"Accept", "application/json"},
      {"MS-RequestId", request_id},
      {"MS-CorrelationId", call.correlation_id},
      {"MS-Contract-Version", options_.contract_version},
      {"X-Locale", options_.locale},
      {"MS-PartnerCenter-Application", options_.application_name},
  };
  request.headers.insert(request.headers.end(), position.headers.begin(), position.headers.end());

  for (int attempt = 1;; ++attempt) {
    metadata["attempts"] = absl::StrCat(attempt);
    if (call.is_cancelled && call.is_cancelled()) {
      return WithErrorInfo(absl::CancelledError(absl::StrCat("the call was cancelled before ", page)),
                           reason::kCancelled, metadata);
    }
    const absl::Duration time_left = call.deadline - sleeper_->Now();
    if (time_left <= absl::ZeroDuration()) {
      return WithErrorInfo(
          absl::DeadlineExceededError(absl::StrCat("the call's deadline passed before ", page, " was requested")),
          reason::kDeadlineExceeded, metadata);
    }
    request.timeout = std::min(options_.page_timeout, time_left);

    const absl::Time started = sleeper_->Now();
    absl::StatusOr<HttpResponse> response = transport_->Send(request);
    const std::string took = absl::FormatDuration(sleeper_->Now() - started);

    absl::Status failure;
    FailureKind kind = FailureKind::kPermanent;
    std::optional<absl::Duration> retry_after;
    if (!response.ok()) {
      const absl::Status& error = response.status();
      const std::string message = absl::StrCat("requesting ", page, " from Partner Center: ", error.message(),
                                               " [MS-RequestId ", request_id, "]");
      switch (error.code()) {
        case absl::StatusCode::kCancelled:
          return WithErrorInfo(absl::CancelledError(message), reason::kCancelled, metadata);
        case absl::StatusCode::kDeadlineExceeded:
          if (sleeper_->Now() >= call.deadline) {
            return WithErrorInfo(absl::DeadlineExceededError(absl::StrCat("the call's deadline passed: ", message)),
                                 reason::kDeadlineExceeded, metadata);
          }
          kind = FailureKind::kTimeout;
          failure = WithErrorInfo(absl::DeadlineExceededError(message), reason::kPartnerCenterTimeout, metadata);
          break;
        case absl::StatusCode::kUnavailable:
          kind = FailureKind::kConnection;
          failure = WithErrorInfo(absl::UnavailableError(message), reason::kPartnerCenterUnreachable, metadata);
          break;
        case absl::StatusCode::kFailedPrecondition:  // TLS verification: a retry meets the same certificate
          failure = WithErrorInfo(absl::FailedPreconditionError(message), reason::kPartnerCenterTlsFailed, metadata);
          break;
        case absl::StatusCode::kResourceExhausted:  // a size limit of this server, which no retry changes
          failure =
              WithErrorInfo(absl::FailedPreconditionError(message), reason::kPartnerCenterResponseTooLarge, metadata);
          break;
        default:
          failure = WithErrorInfo(absl::InternalError(message), reason::kPartnerCenterBadResponse, metadata);
          break;
      }
      LogWarning(trace, " attempt ", attempt, " failed after ", took, ": ", error.message());
    } else if (response->status_code < 200 || response->status_code > 299) {
      failure = WithErrorMetadata(ErrorFromResponse(*response, request_id), "attempts", metadata["attempts"]);
      failure = WithErrorMetadata(failure, "page", metadata["page"]);
      const int http = response->status_code;
      if (http == 401 && call.renew_access_token) {
        const auto renew = std::exchange(call.renew_access_token, nullptr);
        absl::StatusOr<std::string> renewed = renew(call.access_token);
        if (!renewed.ok() && renewed.status().code() != absl::StatusCode::kNotFound) {
          LogWarning(trace, " -> HTTP 401, and renewing the access token failed: ", renewed.status().message());
          return WithErrorMetadata(renewed.status(), "page", metadata["page"]);
        }
        if (renewed.ok() && *renewed != call.access_token) {
          LogInfo(trace, " -> HTTP 401; retrying at once with a renewed access token");
          call.access_token = *std::move(renewed);
          request.headers[0].value = absl::StrCat("Bearer ", call.access_token);
          --attempt;  // a renewed token is not a retry of a failure
          continue;
        }
      }
      if (http == 429) {
        kind = FailureKind::kThrottled;
        if (std::optional<std::string> header = response->Header("retry-after")) {
          retry_after = ParseRetryAfterHeader(*header, sleeper_->Now());
        }
        if (!retry_after.has_value()) {
          if (std::optional<PartnerCenterError> body = ParsePartnerCenterError(response->body)) {
            retry_after = ParseRetryAfterMessage(body->description);
          }
        }
      } else if (http == 500 || http == 502 || http == 503 || http == 504) {
        kind = FailureKind::kServerError;
      }
      LogWarning(trace, " attempt ", attempt, " -> HTTP ", http, " in ", took);
    } else {
      if (std::optional<std::string> content_type = response->Header("content-type");
          content_type.has_value() && !absl::StrContains(absl::AsciiStrToLower(*content_type), "json")) {
        return WithErrorInfo(absl::InternalError(absl::StrCat("Partner Center answered ", page, " with Content-Type ",
                                                              Printable(*content_type, 64), ", not JSON [MS-RequestId ",
                                                              request_id, "]")),
                             reason::kPartnerCenterBadResponse, metadata);
      }
      absl::StatusOr<UsageRecordsPage> parsed = ParseUsageRecordsPage(response->body);
      if (!parsed.ok()) {
        return WithErrorInfo(absl::InternalError(absl::StrCat("Partner Center's ", page,
                                                              " could not be read: ", parsed.status().message(),
                                                              " [MS-RequestId ", request_id, "]")),
                             reason::kPartnerCenterBadResponse, metadata);
      }
      LogInfo(trace, " -> HTTP ", response->status_code, ", ", parsed->records.size(), " records, ",
              response->body.size(), " bytes in ", took, attempt > 1 ? absl::StrCat(" (attempt ", attempt, ")") : "");
      FetchedPage fetched;
      fetched.position = position;
      if (parsed->next.has_value()) {
        absl::StatusOr<PagePosition> next = NextPosition(*parsed->next, position.page_number);
        if (!next.ok()) return WithErrorInfo(next.status(), reason::kPartnerCenterPagingLoop, metadata);
        fetched.next = *std::move(next);
      }
      fetched.page = *std::move(parsed);
      fetched.page.next.reset();
      return fetched;
    }

    std::optional<absl::Duration> delay = retry_policy_.DelayBeforeRetry(attempt, kind, retry_after);
    if (!delay.has_value()) {
      if (kind == FailureKind::kThrottled) {
        failure = WithRetryInfo(failure, retry_after.value_or(retry_policy_.BackoffCeiling(attempt)));
      }
      return kind == FailureKind::kPermanent
                 ? failure
                 : AppendToMessage(
                       failure, absl::StrCat(" (gave up after ", attempt, attempt == 1 ? " attempt)" : " attempts)"));
    }
    if (sleeper_->Now() + *delay >= call.deadline) {
      const std::string wait = absl::FormatDuration(*delay);
      if (kind == FailureKind::kThrottled) {
        return WithRetryInfo(
            AppendToMessage(failure, absl::StrCat("; waiting ", wait, " to retry would pass the call's deadline")),
            *delay);
      }
      return WithErrorInfo(
          absl::DeadlineExceededError(absl::StrCat("retrying ", page, " in ", wait,
                                                   " would pass the call's deadline; last error: ", failure.message())),
          reason::kDeadlineExceeded, metadata);
    }
    LogInfo(trace, " retrying in ", absl::FormatDuration(*delay), " (attempt ", attempt + 1, " of ",
            options_.retry.max_attempts, ")");
    if (!sleeper_->Sleep(*delay, call.is_cancelled)) {
      return WithErrorInfo(absl::CancelledError(absl::StrCat("the call was cancelled while waiting to retry ", page)),
                           reason::kCancelled, metadata);
    }
  }
}

absl::Status UsageClient::ListUsageRecords(const ListCall& list_call, const PagePosition& start,
                                           const PageConsumer& consume) const {
  ListCall call = list_call;  // a 401 may renew its token
  PagePosition position = start;
  absl::flat_hash_set<std::string> pages_seen;
  int64_t records_delivered = 0;
  const auto paging_error = [&call](std::string message) {
    return WithErrorInfo(absl::InternalError(std::move(message)), reason::kPartnerCenterPagingLoop,
                         {{"ms_correlation_id", call.correlation_id}});
  };
  for (;;) {
    if (position.page_number > options_.max_pages) {
      return paging_error(absl::StrCat("Partner Center kept sending links.next past ", options_.max_pages,
                                       " pages (--max_pages); stopped after ", records_delivered, " records"));
    }
    if (!pages_seen.insert(PageKey(position.url, position.headers)).second) {
      return paging_error(absl::StrCat("Partner Center's links.next on page ", position.page_number - 1,
                                       " repeats an earlier page and continuation token; stopped after ",
                                       records_delivered, " records instead of looping"));
    }
    absl::StatusOr<FetchedPage> fetched = FetchPage(call, position);
    if (!fetched.ok()) return WithErrorMetadata(fetched.status(), "ms_correlation_id", call.correlation_id);
    std::optional<PagePosition> next = fetched->next;
    records_delivered += static_cast<int64_t>(fetched->page.records.size());
    if (absl::Status status = consume(*std::move(fetched)); !status.ok()) return status;
    if (!next.has_value()) return absl::OkStatus();
    position = *std::move(next);
  }
}

absl::StatusOr<PagePosition> UsageClient::NextPosition(const NextPageLink& link, int page_number) const {
  absl::StatusOr<std::string> url = ResolveNextUri(link.uri);
  if (!url.ok()) return url.status();
  PagePosition next;
  next.url = *std::move(url);
  next.page_number = page_number + 1;
  for (const HttpHeader& header : link.headers) {
    if (!IsHttpHeaderName(header.name) || HasControlCharacter(header.value)) {
      return absl::InternalError(
          absl::StrCat("Partner Center's links.next on page ", page_number, " has a malformed header"));
    }
    if (!IsReservedHeader(header.name)) next.headers.push_back(header);
  }
  return next;
}

}  // namespace pcusage::partner_center
