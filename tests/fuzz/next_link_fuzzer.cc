// Fuzzes next-link resolution: a page whose links.next carries the input's URI and headers goes through the whole
// path a real page takes (the translator, UsageClient's NextPosition and ResolveNextUri, RestUsageStub building the
// following request) over a fake transport.
//
// Input: the first line is links.next.uri; each later line is a header, "name:value" (a line without ':' is a name
// with an empty value). Bytes that are not UTF-8 are replaced when the page's JSON is written.
//
// Beyond "no crash, no sanitizer report" it checks that:
// - a URI ResolveNextUri accepts resolves to a URL on the API root's host that libcurl parses with scheme https,
//   host api.partnercenter.microsoft.com, the default port and no userinfo (the bearer token goes nowhere else);
// - the walk follows links.next exactly when NextPosition's rules allow (resolvable URI, at most kMaxNextLinkBytes,
//   well-formed headers) and fails with INTERNAL otherwise;
// - the request for the following page goes to the resolved URL with pcusage's own headers each exactly once and
//   unchanged, followed by the link's non-reserved headers in order; no header name or value is malformed.
#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/common/printable.h"
#include "server/http/http_transport.h"
#include "server/http/retry_policy.h"
#include "server/partner_center/usage_client.h"
#include "server/partner_center/usage_records_parser.h"
#include "server/partner_center/usage_stub.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using pcusage::http::HttpHeader;
using pcusage::http::HttpRequest;
using pcusage::http::HttpResponse;
using pcusage::partner_center::FetchedPage;
using pcusage::partner_center::IsReservedHeader;
using pcusage::partner_center::kMaxNextLinkBytes;
using pcusage::partner_center::ListCall;
using pcusage::partner_center::NextPageLink;
using pcusage::partner_center::PageSource;
using pcusage::partner_center::ParseUsageRecordsPage;
using pcusage::partner_center::UsageClient;
using pcusage::partner_center::UsageClientOptions;
using pcusage::partner_center::UsageRecordsPage;

constexpr char kAccessToken[] = "fuzz-access-token";
constexpr char kApiHost[] = "api.partnercenter.microsoft.com";

class NoSleeper : public pcusage::http::Sleeper {
 public:
  absl::Time Now() override { return absl::FromUnixSeconds(1767225600); }
  bool Sleep(absl::Duration, const std::function<bool()>&) override { return true; }
};

// Answers the first request with `first_page` and every later one with an empty last page, keeping the requests.
class FakeTransport : public pcusage::http::HttpTransport {
 public:
  std::string first_page;
  std::vector<HttpRequest> requests;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    requests.push_back(request);
    HttpResponse response;
    response.status_code = 200;
    response.body = requests.size() == 1 ? first_page : R"({"totalCount": 0, "items": []})";
    return response;
  }
};

std::string HeaderValue(const HttpRequest& request, absl::string_view name, int* count) {
  std::string value;
  *count = 0;
  for (const HttpHeader& header : request.headers) {
    if (absl::EqualsIgnoreCase(header.name, name)) {
      ++*count;
      value = header.value;
    }
  }
  return value;
}

// What libcurl makes of `url`: scheme, host, port and user, empty when absent.
struct CurlParts {
  bool parsed = false;
  std::string scheme, host, port, user;
};

CurlParts ParseWithCurl(const std::string& url) {
  CurlParts parts;
  CURLU* handle = curl_url();
  if (curl_url_set(handle, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    parts.parsed = true;
    const std::pair<CURLUPart, std::string*> wanted[] = {{CURLUPART_SCHEME, &parts.scheme},
                                                         {CURLUPART_HOST, &parts.host},
                                                         {CURLUPART_PORT, &parts.port},
                                                         {CURLUPART_USER, &parts.user}};
    for (const auto& [part, out] : wanted) {
      char* text = nullptr;
      if (curl_url_get(handle, part, &text, 0) == CURLUE_OK && text != nullptr) {
        *out = text;
        curl_free(text);
      }
    }
  }
  curl_url_cleanup(handle);
  return parts;
}

// The page links.next is written into: JSON written by nlohmann, invalid UTF-8 replaced.
std::string PageWithLink(absl::string_view input) {
  std::vector<absl::string_view> lines = absl::StrSplit(input, '\n');
  nlohmann::json next = {{"uri", std::string(lines[0])}, {"method", "GET"}, {"headers", nlohmann::json::array()}};
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t colon = lines[i].find(':');
    next["headers"].push_back(
        {{"key", std::string(lines[i].substr(0, colon))},
         {"value", colon == absl::string_view::npos ? "" : std::string(lines[i].substr(colon + 1))}});
  }
  nlohmann::json page = {{"totalCount", 1},
                         {"items", {{{"resourceId", "r1"}, {"totalCount", 1}}}},
                         {"links", {{"next", std::move(next)}}}};
  return page.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool LinkIsFollowable(const NextPageLink& link, const absl::StatusOr<std::string>& resolved) {
  std::size_t bytes = link.uri.size();
  for (const HttpHeader& header : link.headers) bytes += header.name.size() + header.value.size();
  if (bytes > kMaxNextLinkBytes || !resolved.ok()) return false;
  for (const HttpHeader& header : link.headers) {
    if (!pcusage::http::IsHttpHeaderName(header.name) || pcusage::HasControlCharacter(header.value)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto transport = std::make_shared<FakeTransport>();
  transport->first_page = PageWithLink(input);
  absl::StatusOr<std::unique_ptr<UsageClient>> client =
      UsageClient::Create(transport, UsageClientOptions(), std::make_shared<NoSleeper>());
  FUZZ_CHECK(client.ok(), "UsageClient::Create: %s", client.status().ToString().c_str());

  absl::StatusOr<UsageRecordsPage> parsed = ParseUsageRecordsPage(transport->first_page);
  if (!parsed.ok()) return 0;  // e.g. an empty uri; the walk fails the same way
  FUZZ_CHECK(parsed->next.has_value(), "the page's links.next was lost");
  const NextPageLink& link = *parsed->next;

  const absl::StatusOr<std::string> resolved = (*client)->ResolveNextUri(link.uri);
  if (resolved.ok()) {
    FUZZ_CHECK((*client)->IsOnApiHost(*resolved), "\"%s\" resolved off the API host: %s", link.uri.c_str(),
               resolved->c_str());
    FUZZ_CHECK(!pcusage::HasControlCharacter(*resolved) && !absl::StrContains(*resolved, " "), "resolved to \"%s\"",
               resolved->c_str());
    const CurlParts parts = ParseWithCurl(*resolved);
    if (parts.parsed) {
      FUZZ_CHECK(parts.scheme == "https" && absl::EqualsIgnoreCase(parts.host, kApiHost) && parts.port.empty() &&
                     parts.user.empty(),
                 "\"%s\" resolved to \"%s\", which libcurl reads as %s://%s@%s:%s", link.uri.c_str(), resolved->c_str(),
                 parts.scheme.c_str(), parts.user.c_str(), parts.host.c_str(), parts.port.c_str());
    }
  }

  ListCall call;
  call.access_token = kAccessToken;
  call.correlation_id = "00000000-0000-0000-0000-000000000001";
  std::unique_ptr<PageSource> source = (*client)->ListUsageRecords(call, (*client)->FirstPage());
  absl::StatusOr<std::optional<FetchedPage>> first = source->Next();
  const bool followable = LinkIsFollowable(link, resolved);
  if (!first.ok()) {
    FUZZ_CHECK(!followable, "a followable links.next failed the walk: %s", first.status().ToString().c_str());
    FUZZ_CHECK(first.status().code() == absl::StatusCode::kInternal, "%s", first.status().ToString().c_str());
    return 0;
  }
  FUZZ_CHECK(followable, "followed a links.next that NextPosition's rules refuse (uri \"%s\")", link.uri.c_str());
  FUZZ_CHECK(first->has_value() && (*first)->next.has_value(), "the first page lost its next position");
  FUZZ_CHECK((*first)->next->url == *resolved, "next url \"%s\", resolved \"%s\"", (*first)->next->url.c_str(),
             resolved->c_str());

  absl::StatusOr<std::optional<FetchedPage>> second = source->Next();
  if (!second.ok()) {
    // Only paging guards may stop it: the link leads back to the first page.
    FUZZ_CHECK(second.status().code() == absl::StatusCode::kInternal && transport->requests.size() == 1, "%s",
               second.status().ToString().c_str());
    return 0;
  }
  FUZZ_CHECK(transport->requests.size() == 2, "%zu requests", transport->requests.size());
  const HttpRequest& request = transport->requests[1];
  FUZZ_CHECK(request.url == *resolved, "requested \"%s\", resolved \"%s\"", request.url.c_str(), resolved->c_str());
  for (const char* own : {"Authorization", "Accept", "MS-RequestId", "MS-CorrelationId", "MS-Contract-Version",
                          "X-Locale", "MS-PartnerCenter-Application"}) {
    int count = 0;
    const std::string value = HeaderValue(request, own, &count);
    FUZZ_CHECK(count == 1, "%s sent %d times", own, count);
    int first_count = 0;
    FUZZ_CHECK(own == std::string("MS-RequestId") || value == HeaderValue(transport->requests[0], own, &first_count),
               "%s changed to \"%s\"", own, value.c_str());
  }
  for (const char* reserved :
       {"Host", "Content-Length", "Transfer-Encoding", "Connection", "Expect", "Upgrade", "Proxy-Authorization"}) {
    int count = 0;
    HeaderValue(request, reserved, &count);
    FUZZ_CHECK(count == 0, "%s sent", reserved);
  }
  std::vector<HttpHeader> continuation;
  for (const HttpHeader& header : link.headers) {
    if (!IsReservedHeader(header.name)) continuation.push_back(header);
  }
  FUZZ_CHECK(request.headers.size() == 7 + continuation.size(), "%zu headers sent", request.headers.size());
  for (std::size_t i = 0; i < continuation.size(); ++i) {
    FUZZ_CHECK(request.headers[7 + i] == continuation[i], "continuation header %zu", i);
  }
  for (const HttpHeader& header : request.headers) {
    FUZZ_CHECK(pcusage::http::IsHttpHeaderName(header.name) && !pcusage::HasControlCharacter(header.value),
               "malformed header sent");
  }
  return 0;
}
