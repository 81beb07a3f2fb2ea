#include "tests/emulator/content_faults.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/dataset.h"
#include "tests/emulator/error_bodies.h"
#include "tests/emulator/fault_script.h"
#include "tests/emulator/page_edits.h"

namespace pcusage::emulator {
namespace {

// What a proxy or a sign-in redirect puts where JSON was expected.
constexpr char kSignInPage[] =
    "<!DOCTYPE html>\n<html><head><title>Sign in to your account</title></head>\n"
    "<body><p>Sign in to continue to Partner Center.</p></body></html>\n";

// The link to the page named `token`, as GeneratedDataset::RenderPage writes links.next.
std::string NextLink(absl::string_view token) {
  return absl::StrCat(R"({"uri": "/v1/customers/usagerecords?seekOperation=Next", "method": "GET", )",
                      R"("headers": [{"key": "MS-ContinuationToken", "value": )", nlohmann::json(token).dump(), "}]}");
}

// http_status: the rule's status, with its verbatim body or the error body of the route it answers.
void ApplyHttpStatus(const FaultRule& rule, Reply& reply) {
  reply.status = rule.status;
  if (rule.body.has_value()) {
    reply.body = *rule.body;
  } else if (rule.route == FaultRoute::kToken) {
    const bool transient = rule.status == 429 || rule.status >= 500;
    reply.body = IdentityPlatformErrorBody(transient ? "temporarily_unavailable" : "invalid_request", rule.error_code,
                                           rule.description);
  } else {
    reply.body = PartnerCenterErrorBody(rule.error_code, rule.description);
  }
  if (rule.retry_after.has_value()) reply.headers.emplace("Retry-After", *rule.retry_after);
}

}  // namespace

void ApplyContentFault(Reply& reply) {
  const FaultRule& rule = *reply.fault;
  switch (rule.kind) {
    case FaultKind::kHttpStatus:
      ApplyHttpStatus(rule, reply);
      break;
    case FaultKind::kThrottle:
      reply.status = 429;
      reply.body = absl::StrCat(R"({"statusCode": 429, "message": "Rate limit is exceeded. Try again in )",
                                rule.message_seconds, R"( seconds."})");
      if (rule.retry_after.has_value()) reply.headers.emplace("Retry-After", *rule.retry_after);
      break;
    case FaultKind::kTruncatedJson:
      reply.body.resize(reply.body.size() / 2);
      break;
    case FaultKind::kInvalidJson:
      reply.body = "<html><body>Service Unavailable</body></html>";
      break;
    case FaultKind::kHtml:
      reply.content_type = kHtmlContentType;
      reply.body = kSignInPage;
      break;
    case FaultKind::kWrongTypes:
      reply.body = WithWrongTypedCost(reply.body);
      break;
    case FaultKind::kLoopNext:
      reply.body = WithNextLink(reply.body, NextLink(GeneratedDataset::ContinuationToken(*reply.page)));
      break;
    case FaultKind::kSlowFirstByte:
    case FaultKind::kStallMidBody:
    case FaultKind::kResetMidBody:
    case FaultKind::kHugeBody:
    case FaultKind::kSlowBody:
      // Delivery applies these.
      break;
  }
}

}  // namespace pcusage::emulator
