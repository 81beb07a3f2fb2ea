#include "server/partner_center/usage_stub.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/common/printable.h"
#include "server/http/http_status.h"
#include "server/partner_center/errors.h"

namespace pcusage::partner_center {
namespace {

using PageAttempt = http::Attempt<UsageRecordsPage>;

std::string PageName(const PageRequest& request) { return absl::StrCat("page ", request.position.page_number); }

std::map<std::string, std::string> PageMetadata(const PageRequest& request) {
  return {{"ms_request_id", request.request_id}, {"page", absl::StrCat(request.position.page_number)}};
}

// No complete response arrived: what the transport's error means for the call and for a retry.
PageAttempt TransportFailure(const PageRequest& request, const absl::Status& error) {
  const std::string message = absl::StrCat("requesting ", PageName(request), " from Partner Center: ", error.message(),
                                           " [MS-RequestId ", request.request_id, "]");
  const std::map<std::string, std::string> metadata = PageMetadata(request);
  switch (error.code()) {
    case absl::StatusCode::kCancelled:
      return {WithErrorInfo(absl::CancelledError(message), reason::kCancelled, metadata)};
    case absl::StatusCode::kDeadlineExceeded:
      return {WithErrorInfo(absl::DeadlineExceededError(message), reason::kPartnerCenterTimeout, metadata),
              http::FailureKind::kTimeout};
    case absl::StatusCode::kUnavailable:
      return {WithErrorInfo(absl::UnavailableError(message), reason::kPartnerCenterUnreachable, metadata),
              http::FailureKind::kConnection};
    case absl::StatusCode::kFailedPrecondition:  // TLS verification: a retry meets the same certificate
      return {WithErrorInfo(absl::FailedPreconditionError(message), reason::kPartnerCenterTlsFailed, metadata)};
    case absl::StatusCode::kResourceExhausted:  // a size limit of this server, which no retry changes
      return {WithErrorInfo(absl::FailedPreconditionError(message), reason::kPartnerCenterResponseTooLarge, metadata)};
    default:
      return {WithErrorInfo(absl::InternalError(message), reason::kPartnerCenterBadResponse, metadata)};
  }
}

// A non-2xx answer: Partner Center's error, and for throttling how long it asks us to wait.
PageAttempt HttpFailure(const PageRequest& request, const http::HttpResponse& response, absl::Time now) {
  absl::Status failure = ErrorFromResponse(response, request.request_id);
  failure = WithErrorMetadata(failure, "page", absl::StrCat(request.position.page_number));
  const http::FailureKind kind = http::HttpStatusPolicyFor(response.status_code).retry;
  std::optional<absl::Duration> retry_after;
  if (kind == http::FailureKind::kThrottled) {
    if (std::optional<std::string> header = response.Header("retry-after")) {
      retry_after = http::ParseRetryAfterHeader(*header, now);
    }
    if (!retry_after.has_value()) {
      if (std::optional<PartnerCenterError> body = ParsePartnerCenterError(response.body)) {
        retry_after = ParseRetryAfterMessage(body->description);
      }
    }
  }
  return {std::move(failure), kind, retry_after};
}

// Whether a Content-Type names JSON: application/json, or any type/subtype+json (parameters such as charset aside).
bool IsJsonMediaType(absl::string_view content_type) {
  const absl::string_view media_type = absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';')));
  const std::size_t slash = media_type.find('/');
  if (slash == absl::string_view::npos) return false;
  const absl::string_view subtype = media_type.substr(slash + 1);
  return absl::EqualsIgnoreCase(media_type, "application/json") ||
         (subtype.size() > 5 && absl::EndsWithIgnoreCase(subtype, "+json"));
}

// A 2xx answer: the page, or INTERNAL when it is not one.
PageAttempt ReadPage(const PageRequest& request, const http::HttpResponse& response) {
  const std::map<std::string, std::string> metadata = PageMetadata(request);
  if (std::optional<std::string> content_type = response.Header("content-type");
      content_type.has_value() && !IsJsonMediaType(*content_type)) {
    return {WithErrorInfo(absl::InternalError(absl::StrCat("Partner Center answered ", PageName(request),
                                                           " with Content-Type ", Printable(*content_type, 64),
                                                           ", not JSON [MS-RequestId ", request.request_id, "]")),
                          reason::kPartnerCenterBadResponse, metadata)};
  }
  absl::StatusOr<UsageRecordsPage> parsed = ParseUsageRecordsPage(response.body);
  if (!parsed.ok()) {
    return {WithErrorInfo(absl::InternalError(absl::StrCat("Partner Center's ", PageName(request),
                                                           " could not be read: ", parsed.status().message(),
                                                           " [MS-RequestId ", request.request_id, "]")),
                          reason::kPartnerCenterBadResponse, metadata)};
  }
  return {*std::move(parsed)};
}

}  // namespace

bool IsReservedHeader(absl::string_view name) {
  // pcusage's own, then those that say where the request goes, how it is framed or who is asking.
  static constexpr absl::string_view kReserved[] = {
      "authorization", "accept",         "ms-requestid",        "ms-correlationid",
      "x-locale",      "user-agent",     "ms-contract-version", "ms-partnercenter-application",
      "host",          "content-length", "transfer-encoding",   "connection",
      "expect",        "upgrade",        "proxy-authorization"};
  return std::any_of(std::begin(kReserved), std::end(kReserved),
                     [name](absl::string_view reserved) { return absl::EqualsIgnoreCase(name, reserved); });
}

std::string DescribePageRequest(const PageRequest& request) {
  return absl::StrCat(PageName(request), " GET ", http::RedactedUrl(request.position.url), " [MS-RequestId ",
                      request.request_id, ", MS-CorrelationId ", request.correlation_id, "]");
}

RestUsageStub::RestUsageStub(std::shared_ptr<http::HttpTransport> transport, PartnerCenterHeaders headers,
                             std::shared_ptr<http::Sleeper> clock)
    : transport_(std::move(transport)),
      headers_(std::move(headers)),
      clock_(clock != nullptr ? std::move(clock) : std::make_shared<http::RealSleeper>()) {}

http::HttpRequest RestUsageStub::BuildRequest(const PageRequest& request) const {
  http::HttpRequest http_request;
  http_request.url = request.position.url;
  http_request.timeout = request.timeout;
  http_request.is_cancelled = request.is_cancelled;
  http_request.headers = {
      {"Authorization", absl::StrCat("Bearer ", request.access_token)},
      {"Accept", "application/json"},
      {"MS-RequestId", request.request_id},
      {"MS-CorrelationId", request.correlation_id},
      {"MS-Contract-Version", headers_.contract_version},
      {"X-Locale", headers_.locale},
      {"MS-PartnerCenter-Application", headers_.application_name},
  };
  // Wherever the position came from (links.next, a resume token, a snapshot), its headers never replace these.
  for (const http::HttpHeader& header : request.position.headers) {
    if (!IsReservedHeader(header.name)) http_request.headers.push_back(header);
  }
  http_request.echoed_header = "MS-RequestId";
  return http_request;
}

namespace {

// One event per attempt at a page: what was asked (the page, its URL and ids) and what came of it (`outcome`,
// `fields`).
void LogPageAttempt(LogLevel level, const PageRequest& request, absl::string_view outcome, absl::Duration took,
                    std::vector<LogField> fields) {
  if (!LogEnabled(level)) return;
  fields.insert(fields.begin(), {{"correlation_id", request.correlation_id},
                                 {"upstream_request_id", request.request_id},
                                 {"upstream_url", http::RedactedUrl(request.position.url)},
                                 {"page", request.position.page_number},
                                 {"attempt", request.attempt},
                                 {"duration_ms", absl::ToInt64Milliseconds(took)}});
  LogEvent(level, absl::StrCat("Partner Center ", PageName(request), " ", outcome), fields);
}

}  // namespace

http::Attempt<UsageRecordsPage> RestUsageStub::FetchPage(const PageRequest& request) {
  const absl::Time started = clock_->Now();
  absl::StatusOr<http::HttpResponse> response = transport_->Send(BuildRequest(request));
  const absl::Duration took = clock_->Now() - started;
  if (!response.ok()) {
    LogPageAttempt(LogLevel::kWarning, request, "failed", took, {{"error", response.status().message()}});
    return TransportFailure(request, response.status());
  }
  if (std::optional<std::string> echoed = response->Header("ms-requestid");
      echoed.has_value() && !absl::EqualsIgnoreCase(*echoed, request.request_id)) {
    // Partner Center echoes the request's id: this answer belongs to another request (a confused proxy, or bytes
    // left on a connection). Never deliver it. The transport has already closed that connection (echoed_header), so
    // a retry goes out on a fresh one; this check holds for any transport.
    LogPageAttempt(LogLevel::kWarning, request, "answered for another request", took,
                   {{"upstream_status", response->status_code}, {"echoed_request_id", Printable(*echoed, 64)}});
    return {WithErrorInfo(absl::UnavailableError(absl::StrCat(
                              "Partner Center's answer to ", PageName(request), " names another request (MS-RequestId ",
                              Printable(*echoed, 64), ", not ", request.request_id, ")")),
                          reason::kPartnerCenterUnreachable, PageMetadata(request)),
            http::FailureKind::kConnection};
  }
  if (response->status_code < 200 || response->status_code > 299) {
    LogPageAttempt(LogLevel::kWarning, request, absl::StrCat("-> HTTP ", response->status_code), took,
                   {{"upstream_status", response->status_code}});
    return HttpFailure(request, *response, clock_->Now());
  }
  PageAttempt page = ReadPage(request, *response);
  if (page.result.ok()) {
    LogPageAttempt(LogLevel::kInfo, request, absl::StrCat("-> HTTP ", response->status_code), took,
                   {{"upstream_status", response->status_code},
                    {"records", page.result->records.size()},
                    {"bytes", response->body.size()}});
  }
  return page;
}

}  // namespace pcusage::partner_center
