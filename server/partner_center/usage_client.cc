#include "server/partner_center/usage_client.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/common/guid.h"
#include "server/common/log.h"
#include "server/partner_center/errors.h"

namespace pcusage::partner_center {
namespace {

// Headers pcusage sets itself; links.next may not replace them.
bool IsReservedHeader(absl::string_view name) {
  static constexpr absl::string_view kReserved[] = {
      "authorization",      "accept",   "host",      "content-length", "ms-requestid",
      "ms-correlationid",   "x-locale", "user-agent", "ms-contract-version", "ms-partnercenter-application",
  };
  return std::any_of(std::begin(kReserved), std::end(kReserved),
                     [name](absl::string_view reserved) { return absl::EqualsIgnoreCase(name, reserved); });
}

bool IsHeaderNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::StrContains("!#$%&'*+-.^_`|~", c);
}

bool HasControlCharacter(absl::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// The URL without its query string, for logs and messages.
absl::string_view WithoutQuery(absl::string_view url) { return url.substr(0, url.find('?')); }

// A page's identity for loop detection: where it is and what continuation it carries.
std::string PageKey(absl::string_view url, const std::vector<HttpHeader>& headers) {
  std::string key(url);
  for (const HttpHeader& header : headers) absl::StrAppend(&key, "\n", header.name, ":", header.value);
  return key;
}

}  // namespace

absl::StatusOr<std::unique_ptr<UsageClient>> UsageClient::Create(std::shared_ptr<HttpTransport> transport,
                                                                 UsageClientOptions options) {
  absl::string_view url = options.base_url;
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "https://") && !absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("Partner Center URL \"", url, "\" must start with https:// (or http:// for a local emulator)"));
  }
  const std::size_t authority_end = std::min(rest.find('/'), rest.size());
  if (authority_end == 0 || absl::StrContains(rest, "?") || absl::StrContains(rest, "#") ||
      HasControlCharacter(rest) || absl::StrContains(rest, " ") || absl::StrContains(rest.substr(0, authority_end), "@")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Partner Center URL \"", url, "\" must be scheme://host[:port][/path], without credentials, query or fragment"));
  }
  if (options.max_pages < 1) return absl::InvalidArgumentError("max_pages must be at least 1");
  if (options.page_timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("page_timeout must be positive");
  std::string origin(url.substr(0, url.size() - rest.size() + authority_end));
  while (absl::ConsumeSuffix(&url, "/")) {
  }
  options.base_url = std::string(url);
  return std::unique_ptr<UsageClient>(new UsageClient(std::move(transport), std::move(options), std::move(origin)));
}

UsageClient::UsageClient(std::shared_ptr<HttpTransport> transport, UsageClientOptions options, std::string origin)
    : transport_(std::move(transport)), options_(std::move(options)), origin_(std::move(origin)) {}

absl::StatusOr<std::string> UsageClient::ResolveNextUri(absl::string_view uri) const {
  if (HasControlCharacter(uri) || absl::StrContains(uri, " ")) {
    return absl::InternalError("Partner Center's links.next.uri contains spaces or control characters");
  }
  if (absl::StartsWithIgnoreCase(uri, "http://") || absl::StartsWithIgnoreCase(uri, "https://") ||
      absl::StartsWith(uri, "//")) {
    const std::string absolute = absl::StartsWith(uri, "//")
                                     ? absl::StrCat(origin_.substr(0, origin_.find("//")), uri)
                                     : std::string(uri);
    if (!absl::StartsWithIgnoreCase(absolute, origin_ + "/")) {
      return absl::InternalError(
          absl::StrCat("Partner Center's links.next points away from ", origin_, " (to ", WithoutQuery(absolute),
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

absl::Status UsageClient::ListUsageRecords(const ListCall& call, const PageConsumer& consume) const {
  std::string url = absl::StrCat(options_.base_url, "/", options_.contract_version, "/customers/usagerecords");
  std::vector<HttpHeader> continuation_headers;
  absl::flat_hash_set<std::string> pages_seen;
  int records_delivered = 0;

  for (int page_number = 1;; ++page_number) {
    if (page_number > options_.max_pages) {
      return absl::InternalError(absl::StrCat("Partner Center kept sending links.next past ", options_.max_pages,
                                              " pages (--max_pages); stopped after ", records_delivered, " records"));
    }
    if (!pages_seen.insert(PageKey(url, continuation_headers)).second) {
      return absl::InternalError(absl::StrCat("Partner Center's links.next on page ", page_number - 1,
                                              " repeats an earlier page and continuation token; stopped after ",
                                              records_delivered, " records instead of looping"));
    }
    if (call.is_cancelled && call.is_cancelled()) {
      return absl::CancelledError(absl::StrCat("the call was cancelled before page ", page_number));
    }
    const absl::Duration time_left = call.deadline - absl::Now();
    if (time_left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat("the call's deadline passed before page ", page_number,
                                                      " was requested (", records_delivered, " records delivered)"));
    }

    HttpRequest request;
    request.url = url;
    request.timeout = std::min(options_.page_timeout, time_left);
    request.is_cancelled = call.is_cancelled;
    const std::string request_id = NewGuid();
    request.headers = {
        {"Authorization", absl::StrCat("Bearer ", call.access_token)},
        {"Accept", "application/json"},
        {"MS-RequestId", request_id},
        {"MS-CorrelationId", call.correlation_id},
        {"MS-Contract-Version", options_.contract_version},
        {"X-Locale", options_.locale},
        {"MS-PartnerCenter-Application", options_.application_name},
    };
    request.headers.insert(request.headers.end(), continuation_headers.begin(), continuation_headers.end());

    const absl::Time started = absl::Now();
    absl::StatusOr<HttpResponse> response = transport_->Get(request);
    const std::string trace = absl::StrCat("page ", page_number, " GET ", WithoutQuery(url), " [MS-RequestId ",
                                           request_id, ", MS-CorrelationId ", call.correlation_id, "]");
    if (!response.ok()) {
      LogWarning(trace, " failed after ", absl::FormatDuration(absl::Now() - started), ": ",
                 response.status().message());
      return absl::Status(response.status().code(),
                          absl::StrCat("requesting page ", page_number, " from Partner Center: ",
                                       response.status().message(), " [MS-RequestId ", request_id, "]"));
    }
    if (response->status_code < 200 || response->status_code > 299) {
      absl::Status error = ErrorFromResponse(*response, request_id);
      LogWarning(trace, " -> HTTP ", response->status_code, " in ", absl::FormatDuration(absl::Now() - started));
      return error;
    }
    if (std::optional<std::string> content_type = response->Header("content-type");
        content_type.has_value() && !absl::StrContains(absl::AsciiStrToLower(*content_type), "json")) {
      return absl::InternalError(absl::StrCat("Partner Center answered page ", page_number, " with Content-Type ",
                                              content_type->substr(0, 64), ", not JSON [MS-RequestId ",
                                              request_id, "]"));
    }
    absl::StatusOr<UsageRecordsPage> page = ParseUsageRecordsPage(response->body);
    if (!page.ok()) {
      return absl::InternalError(absl::StrCat("Partner Center's page ", page_number, " could not be read: ",
                                              page.status().message(), " [MS-RequestId ", request_id, "]"));
    }
    LogInfo(trace, " -> HTTP ", response->status_code, ", ", page->records.size(), " records, ",
            response->body.size(), " bytes in ", absl::FormatDuration(absl::Now() - started));

    std::optional<NextPageLink> next = std::move(page->next);
    records_delivered += static_cast<int>(page->records.size());
    if (absl::Status status = consume(*std::move(page)); !status.ok()) return status;
    if (!next.has_value()) return absl::OkStatus();

    absl::StatusOr<std::string> next_url = ResolveNextUri(next->uri);
    if (!next_url.ok()) return next_url.status();
    url = *std::move(next_url);
    continuation_headers.clear();
    for (HttpHeader& header : next->headers) {
      if (header.name.empty() || !std::all_of(header.name.begin(), header.name.end(), IsHeaderNameChar) ||
          HasControlCharacter(header.value)) {
        return absl::InternalError(
            absl::StrCat("Partner Center's links.next on page ", page_number, " has a malformed header"));
      }
      if (IsReservedHeader(header.name)) continue;
      continuation_headers.push_back(std::move(header));
    }
  }
}

}  // namespace pcusage::partner_center
