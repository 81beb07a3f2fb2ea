// Partner Center answers for tests that fake the transport: HTTP responses with a JSON body, and usage-records pages
// with a links.next continuation.
#ifndef PCUSAGE_TESTS_TESTING_HTTP_RESPONSES_H_
#define PCUSAGE_TESTS_TESTING_HTTP_RESPONSES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/http/http_transport.h"

namespace pcusage::testing_util {

// An HTTP response with `body` and Content-Type application/json.
http::HttpResponse JsonResponse(std::string body, int status = 200);

// A usage-records page whose items are the JSON objects `items`, with totalCount `total_count`. When `next_token`
// is non-empty, links.next points to the next page with that MS-ContinuationToken, and also carries an
// "Authorization: Bearer stolen" header that a client must never send.
std::string UsageRecordsPageJson(const std::vector<std::string>& items, absl::string_view next_token = "",
                                 int64_t total_count = 99);

// The header named `name` (case-insensitive) of `request`, if any; a header sent twice fails the test.
std::optional<std::string> RequestHeader(const http::HttpRequest& request, absl::string_view name);

}  // namespace pcusage::testing_util

#endif  // PCUSAGE_TESTS_TESTING_HTTP_RESPONSES_H_
