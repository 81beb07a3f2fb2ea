#include "server/http/curl_transport.h"

#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "server/common/printable.h"

namespace pcusage::http {
namespace {

constexpr std::size_t kMaxIdleHandles = 16;

// Longer timeouts are clamped to this (about 24 days), which every libcurl accepts without overflowing.
constexpr int64_t kMaxTimeoutMs = std::numeric_limits<int32_t>::max();

absl::Status GlobalInit() {
  static const CURLcode kInitCode = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (kInitCode == CURLE_OK) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("curl_global_init failed: ", curl_easy_strerror(kInitCode)));
}

// Rounds up so that a sub-millisecond timeout does not become 0, which libcurl reads as "no timeout".
long TimeoutMillis(absl::Duration timeout) {  // NOLINT(google-runtime-int): libcurl takes long.
  if (timeout >= absl::Milliseconds(kMaxTimeoutMs)) return static_cast<long>(kMaxTimeoutMs);  // NOLINT
  return static_cast<long>(                                                                   // NOLINT
      std::max<int64_t>(1, absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1)))));
}

// Names are not echoed when invalid: a caller that put a whole "Name: value" line there could leak a credential.
absl::Status ValidateHeader(const HttpHeader& header, std::size_t index, absl::string_view where) {
  if (!IsHttpHeaderName(header.name)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": request header name at index ", index, " is not an HTTP token; nothing sent"));
  }
  if (absl::string_view(header.value).find_first_of(absl::string_view("\r\n\0", 3)) != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": value of request header \"", header.name, "\" contains CR, LF or NUL; nothing sent"));
  }
  return absl::OkStatus();
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// What one transfer has received so far; the libcurl callbacks write here.
struct Transfer {
  enum class Abort { kNone, kCancelled, kBodyTooLarge, kAmbiguousLength };

  std::size_t max_body_bytes = 0;
  const std::function<bool()>* is_cancelled = nullptr;
  // When is_cancelled was last asked. libcurl calls the progress callback many times a millisecond on a fast
  // transfer, and asking (a gRPC call's cancellation, say) takes a lock; a few milliseconds of lag cost nothing.
  int64_t last_cancel_check_ns = 0;
  HttpResponse response;
  Abort abort = Abort::kNone;
};

// How often a running transfer asks whether it was cancelled.
constexpr int64_t kCancelCheckIntervalNs = 5'000'000;

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (bytes > transfer->max_body_bytes - transfer->response.body.size()) {
    transfer->abort = Transfer::Abort::kBodyTooLarge;
    return 0;
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

// Whether the last of `headers` is a Content-Length contradicting an earlier one of the same response: then the peer
// and libcurl may disagree on where the next response starts.
bool ContradictsContentLength(const std::vector<HttpHeader>& headers) {
  const HttpHeader& added = headers.back();
  if (added.name != "content-length") return false;
  return std::any_of(headers.begin(), headers.end() - 1, [&added](const HttpHeader& earlier) {
    return earlier.name == "content-length" && earlier.value != added.value;
  });
}

// libcurl passes every header line of every response it reads (interim 1xx, proxy CONNECT, final, trailers);
// a status line starts a new response, so only the final response's headers survive.
std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  const absl::string_view line(data, bytes);
  std::vector<HttpHeader>& headers = transfer->response.headers;
  if (absl::StartsWith(line, "HTTP/")) {
    headers.clear();
    return bytes;
  }
  const absl::string_view trimmed = absl::StripAsciiWhitespace(line);
  if (trimmed.empty()) return bytes;
  if ((line[0] == ' ' || line[0] == '\t') && !headers.empty()) {
    absl::StrAppend(&headers.back().value, headers.back().value.empty() ? "" : " ", trimmed);
    return bytes;
  }
  const std::size_t colon = trimmed.find(':');
  if (colon == absl::string_view::npos) return bytes;
  headers.push_back({absl::AsciiStrToLower(absl::StripAsciiWhitespace(trimmed.substr(0, colon))),
                     std::string(absl::StripAsciiWhitespace(trimmed.substr(colon + 1)))});
  if (ContradictsContentLength(headers)) {
    transfer->abort = Transfer::Abort::kAmbiguousLength;
    return 0;  // aborts the transfer
  }
  return bytes;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  const int64_t now = absl::GetCurrentTimeNanos();
  if (now - transfer->last_cancel_check_ns < kCancelCheckIntervalNs) return 0;
  transfer->last_cancel_check_ns = now;
  if ((*transfer->is_cancelled)()) {
    transfer->abort = Transfer::Abort::kCancelled;
    return 1;
  }
  return 0;
}

absl::Status CheckRequest(const HttpRequest& request, const std::string& where) {
  if (request.method != "GET" && request.method != "POST") {
    return absl::InvalidArgumentError(absl::StrCat("unsupported HTTP method ", Printable(request.method, 16)));
  }
  if (request.timeout <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError(
        absl::StrCat(where, ": timeout ", absl::FormatDuration(request.timeout), " left no time to start"));
  }
  if (request.is_cancelled && request.is_cancelled()) {
    return absl::CancelledError(absl::StrCat(where, " cancelled before it started"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Slist> HeaderList(const HttpRequest& request, const std::string& where) {
  Slist headers;
  for (std::size_t i = 0; i < request.headers.size(); ++i) {
    const HttpHeader& header = request.headers[i];
    if (absl::Status status = ValidateHeader(header, i, where); !status.ok()) return status;
    // "Name:" alone would tell libcurl to suppress the header; "Name;" sends it with an empty value.
    const std::string line =
        header.value.empty() ? absl::StrCat(header.name, ";") : absl::StrCat(header.name, ": ", header.value);
    curl_slist* appended = curl_slist_append(headers.get(), line.c_str());
    if (appended == nullptr) return absl::InternalError(absl::StrCat(where, ": curl_slist_append failed"));
    if (headers == nullptr) headers.reset(appended);  // later appends return the same first item
  }
  return headers;
}

// Sets every option of one transfer on `curl`; the first failure's code, or CURLE_OK.
CURLcode Configure(CURL* curl, const HttpRequest& request, const CurlTransportOptions& options, curl_slist* headers,
                   Transfer& transfer, char* error) {
  CURLcode code = CURLE_OK;
  const auto set = [curl, &code](CURLoption option, auto value) {
    if (code == CURLE_OK) code = curl_easy_setopt(curl, option, value);
  };
  absl::Duration connect_timeout = std::min(options.connect_timeout, request.timeout);
  if (connect_timeout <= absl::ZeroDuration()) connect_timeout = request.timeout;
  set(CURLOPT_ERRORBUFFER, error);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_URL, request.url.c_str());
  if (request.method == "POST") {
    set(CURLOPT_POST, 1L);
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    set(CURLOPT_POSTFIELDS, request.body.c_str());
  } else {
    set(CURLOPT_HTTPGET, 1L);
  }
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_bundle_file.empty()) set(CURLOPT_CAINFO, options.ca_bundle_file.c_str());
  // Proxies only when asked: a proxy from the environment would see every bearer token (and all of them in the
  // clear for an http:// loopback emulator).
  if (options.proxy.empty()) {
    set(CURLOPT_NOPROXY, "*");
  } else {
    set(CURLOPT_PROXY, options.proxy.c_str());
  }
  set(CURLOPT_TIMEOUT_MS, TimeoutMillis(request.timeout));
  set(CURLOPT_CONNECTTIMEOUT_MS, TimeoutMillis(connect_timeout));
  set(CURLOPT_ACCEPT_ENCODING, "");
  if (!options.user_agent.empty()) set(CURLOPT_USERAGENT, options.user_agent.c_str());
  set(CURLOPT_HTTPHEADER, headers);
  set(CURLOPT_HEADERFUNCTION, &OnHeader);
  set(CURLOPT_HEADERDATA, &transfer);
  set(CURLOPT_WRITEFUNCTION, &OnBody);
  set(CURLOPT_WRITEDATA, &transfer);
  if (request.is_cancelled) {
    transfer.is_cancelled = &request.is_cancelled;
    set(CURLOPT_XFERINFOFUNCTION, &OnProgress);
    set(CURLOPT_XFERINFODATA, &transfer);
    set(CURLOPT_NOPROGRESS, 0L);
  }
  return code;
}

// Why a transfer produced no complete response (see HttpTransport::Send), or OK when it did.
bool IsHttpUrl(absl::string_view url) {
  return absl::StartsWithIgnoreCase(url, "http://") || absl::StartsWithIgnoreCase(url, "https://");
}

absl::Status TransferFailure(const Transfer& transfer, CURLcode code, const char* error, absl::string_view url,
                             const std::string& where, std::size_t max_response_bytes) {
  switch (transfer.abort) {
    case Transfer::Abort::kCancelled:
      return absl::CancelledError(absl::StrCat(where, " cancelled"));
    case Transfer::Abort::kBodyTooLarge:
      return absl::ResourceExhaustedError(
          absl::StrCat(where, ": response body exceeded ", max_response_bytes, " bytes"));
    case Transfer::Abort::kAmbiguousLength:
      return absl::UnavailableError(
          absl::StrCat(where, ": the answer has contradictory Content-Length headers; its connection was closed"));
    case Transfer::Abort::kNone:
      break;
  }
  if (code == CURLE_OK) return absl::OkStatus();
  const std::string detail =
      absl::StrCat(error[0] != '\0' ? error : curl_easy_strerror(code), " (curl error ", static_cast<int>(code), ")");
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(absl::StrCat(where, " timed out: ", detail));
    case CURLE_UNSUPPORTED_PROTOCOL:
      if (IsHttpUrl(url)) {  // then the answer was the problem: HTTP/0.9, or not HTTP at all
        return absl::InternalError(absl::StrCat(where, ": the answer is not HTTP/1.x or HTTP/2: ", detail));
      }
      return absl::InvalidArgumentError(absl::StrCat(where, ": bad URL: ", detail));
    case CURLE_URL_MALFORMAT:
      return absl::InvalidArgumentError(absl::StrCat(where, ": bad URL: ", detail));
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return absl::FailedPreconditionError(absl::StrCat(where, ": TLS verification failed: ", detail));
    default:
      return absl::UnavailableError(absl::StrCat(where, " failed: ", detail));
  }
}

// Whether the idle connection of `curl` has bytes (or an end) waiting that no request asked for. A peer that sends
// past a response's end would otherwise answer the next request, perhaps another call's, with them.
bool HasUnreadBytes(CURL* curl) {
  curl_socket_t socket = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &socket) != CURLE_OK || socket == CURL_SOCKET_BAD) return false;
  pollfd idle = {socket, POLLIN, 0};
  return poll(&idle, 1, 0) > 0;
}

// UNAVAILABLE when `response` echoes request.echoed_header with another value than the request sent: it answers
// some other request.
absl::Status CheckEcho(const HttpRequest& request, const HttpResponse& response, const std::string& where) {
  if (request.echoed_header.empty()) return absl::OkStatus();
  std::optional<std::string> echoed = response.Header(request.echoed_header);
  if (!echoed.has_value()) return absl::OkStatus();
  for (const HttpHeader& sent : request.headers) {
    if (absl::EqualsIgnoreCase(sent.name, request.echoed_header) && !absl::EqualsIgnoreCase(sent.value, *echoed)) {
      return absl::UnavailableError(absl::StrCat(where, ": the answer names another request (", request.echoed_header,
                                                 " ", Printable(*echoed, 64), "); its connection was closed"));
    }
  }
  return absl::OkStatus();
}

// Holds the userinfo of `url` (everything between "://" and its last '@', however malformed) and the password in it.
std::vector<SecretHold> HoldUserinfo(absl::string_view url) {
  std::vector<SecretHold> holds;
  const std::size_t start = url.find("://");
  const std::size_t at = url.rfind('@');
  if (start == absl::string_view::npos || at == absl::string_view::npos || at < start + 3) return holds;
  const absl::string_view userinfo = url.substr(start + 3, at - start - 3);
  holds.push_back(HoldSecret(userinfo));
  if (const std::size_t colon = userinfo.find(':'); colon != absl::string_view::npos) {
    holds.push_back(HoldSecret(userinfo.substr(colon + 1)));
  }
  return holds;
}

}  // namespace

CurlTransport::CurlTransport(CurlTransportOptions options)
    : options_(std::move(options)), proxy_credential_holds_(HoldUserinfo(options_.proxy)) {
  // Initialise here too, so that it normally happens on the constructing thread before any handler threads run.
  GlobalInit().IgnoreError();
}

CurlTransport::~CurlTransport() {
  for (Handle* handle : idle_handles_) curl_easy_cleanup(handle);
}

CurlTransport::Handle* CurlTransport::AcquireHandle() {
  for (;;) {
    Handle* handle = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (idle_handles_.empty()) break;
      handle = idle_handles_.back();
      idle_handles_.pop_back();
    }
    if (!HasUnreadBytes(handle)) return handle;
    curl_easy_cleanup(handle);  // closes the connection with it
  }
  return curl_easy_init();
}

void CurlTransport::ReleaseHandle(Handle* handle, bool reusable) {
  if (reusable) {
    // Clears options (and the pointers into the finished Send's stack) but keeps the open connections.
    curl_easy_reset(handle);
    absl::MutexLock lock(&mu_);
    if (idle_handles_.size() < kMaxIdleHandles) {
      idle_handles_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(handle);
}

absl::StatusOr<HttpResponse> CurlTransport::Send(const HttpRequest& request) {
  const std::string where = absl::StrCat(request.method, " ", RedactedUrl(request.url));
  if (absl::Status status = CheckRequest(request, where); !status.ok()) return status;
  absl::StatusOr<Slist> headers = HeaderList(request, where);
  if (!headers.ok()) return headers.status();
  if (absl::Status status = GlobalInit(); !status.ok()) return status;

  // Declared before the handle's release, so they outlive it: the handle points at them until it is reset.
  Transfer transfer;
  transfer.max_body_bytes = options_.max_response_bytes;
  char error[CURL_ERROR_SIZE] = {};

  CURL* curl = AcquireHandle();
  if (curl == nullptr) return absl::InternalError(absl::StrCat(where, ": curl_easy_init failed"));
  bool reusable = false;
  absl::Cleanup release = [this, curl, &reusable] { ReleaseHandle(curl, reusable); };
  CURLcode code = Configure(curl, request, options_, headers->get(), transfer, error);
  if (code != CURLE_OK) {
    return absl::InternalError(absl::StrCat(where, ": configuring libcurl failed: ", curl_easy_strerror(code)));
  }
  code = curl_easy_perform(curl);
  if (absl::Status failed = TransferFailure(transfer, code, error, request.url, where, options_.max_response_bytes);
      !failed.ok()) {
    return failed;
  }
  long status_code = 0;  // NOLINT(google-runtime-int): libcurl's type.
  code = curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status_code);
  if (code != CURLE_OK) {
    return absl::InternalError(absl::StrCat(where, ": reading the response code failed: ", curl_easy_strerror(code)));
  }
  transfer.response.status_code = static_cast<int>(status_code);
  if (absl::Status mismatch = CheckEcho(request, transfer.response, where); !mismatch.ok()) return mismatch;
  // RFC 9112 6.3: a message with both Content-Length and Transfer-Encoding may be an attempt at request smuggling
  // and its connection must be closed after it.
  reusable = !(transfer.response.Header("content-length").has_value() &&
               transfer.response.Header("transfer-encoding").has_value());
  return std::move(transfer.response);
}

}  // namespace pcusage::http
