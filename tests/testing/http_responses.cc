#include "tests/testing/http_responses.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace pcusage::testing_util {

http::HttpResponse JsonResponse(std::string body, int status) {
  http::HttpResponse response;
  response.status_code = status;
  response.headers = {{"content-type", "application/json; charset=utf-8"}};
  response.body = std::move(body);
  return response;
}

std::string UsageRecordsPageJson(const std::vector<std::string>& items, absl::string_view next_token,
                                 int64_t total_count) {
  std::string links = R"("self": {"uri": "/customers/usagerecords"})";
  if (!next_token.empty()) {
    absl::StrAppend(&links, R"(, "next": {"uri": "/v1/customers/usagerecords?seekOperation=Next", "method": "GET",
        "headers": [{"key": "MS-ContinuationToken", "value": ")",
                    next_token, R"("}, {"key": "Authorization", "value": "Bearer stolen"}]})");
  }
  return absl::StrCat(R"({"totalCount": )", total_count, R"(, "items": [)", absl::StrJoin(items, ","),
                      R"(], "links": {)", links, "}}");
}

std::optional<std::string> RequestHeader(const http::HttpRequest& request, absl::string_view name) {
  std::optional<std::string> found;
  for (const http::HttpHeader& header : request.headers) {
    if (!absl::EqualsIgnoreCase(header.name, name)) continue;
    if (found.has_value()) ADD_FAILURE() << "header sent twice: " << name;
    found = header.value;
  }
  return found;
}

}  // namespace pcusage::testing_util
