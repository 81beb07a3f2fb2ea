#include "tests/emulator/usage_route.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/emulator/content_faults.h"
#include "tests/emulator/error_bodies.h"
#include "tests/emulator/record_edits.h"
#include "tests/emulator/seed_sample.h"

namespace pcusage::emulator {
namespace {

// The 401 descriptions.
constexpr char kTokenNotValid[] = "Authorization failed: the bearer token is missing or not valid.";
constexpr char kTokenExpired[] = "The access token has expired";

}  // namespace

UsageRoute::UsageRoute(std::string access_token, std::optional<GeneratedDataset> dataset, State state)
    : access_token_(std::move(access_token)), generated_(dataset.has_value()), state_(std::move(state)) {
  if (dataset.has_value()) dataset_ = std::make_shared<const GeneratedDataset>(*std::move(dataset));
}

std::shared_ptr<const GeneratedDataset> UsageRoute::Dataset() const {
  absl::MutexLock lock(&mutex_);
  return dataset_;
}

absl::Status UsageRoute::EditDataset(absl::string_view edits_json) {
  if (!generated_) return absl::FailedPreconditionError("the seed sample cannot be edited; use --dataset=generated");
  absl::StatusOr<std::vector<RecordEdit>> edits = ParseRecordEdits(edits_json);
  if (!edits.ok()) return edits.status();
  absl::MutexLock lock(&mutex_);
  auto edited = std::make_shared<GeneratedDataset>(*dataset_);
  if (absl::Status applied = edited->Apply(*edits); !applied.ok()) return applied;
  dataset_ = std::move(edited);
  return absl::OkStatus();
}

Reply UsageRoute::Answer(const httplib::Request& request) const {
  Reply reply;
  reply.content_type = kJsonContentType;
  const std::shared_ptr<const GeneratedDataset> dataset = Dataset();
  reply.page = RequestedPage(request, dataset.get());
  if (const std::optional<std::string> failure = AuthorizationFailure(request.get_header_value("Authorization"))) {
    reply.status = 401;
    reply.body = PartnerCenterErrorBody(900, *failure);
    return reply;
  }
  if (!reply.page.has_value()) {
    reply.status = 400;
    reply.body = PartnerCenterErrorBody(400, "The continuation token is not valid.");
    return reply;
  }
  reply.body = dataset != nullptr ? dataset->RenderPage(*reply.page) : std::string(SeedSampleResponse());
  reply.fault = state_.take_fault(*reply.page);
  if (reply.fault.has_value()) ApplyContentFault(reply);
  return reply;
}

std::optional<std::string> UsageRoute::AuthorizationFailure(absl::string_view authorization) const {
  // The scheme is case-insensitive.
  if (!absl::StartsWithIgnoreCase(authorization, "Bearer ")) return kTokenNotValid;
  const absl::string_view token = authorization.substr(7);
  for (absl::string_view accepted : absl::StrSplit(access_token_, ',', absl::SkipEmpty())) {
    if (token == accepted) return std::nullopt;
  }
  const std::optional<absl::Time> expiry = state_.issued_token_expiry(std::string(token));
  if (!expiry.has_value()) return kTokenNotValid;
  if (absl::Now() >= *expiry) return kTokenExpired;
  return std::nullopt;
}

std::optional<int> UsageRoute::RequestedPage(const httplib::Request& request, const GeneratedDataset* dataset) const {
  if (dataset == nullptr || !request.has_header("MS-ContinuationToken")) return 0;
  return dataset->PageForToken(request.get_header_value("MS-ContinuationToken"));
}

}  // namespace pcusage::emulator
