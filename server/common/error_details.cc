#include "server/common/error_details.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace pcusage {
namespace {

constexpr char kErrorInfoType[] = "type.googleapis.com/google.rpc.ErrorInfo";
constexpr char kRetryInfoType[] = "type.googleapis.com/google.rpc.RetryInfo";
constexpr char kBadRequestType[] = "type.googleapis.com/google.rpc.BadRequest";

template <typename Message>
std::optional<Message> GetPayload(const absl::Status& status, absl::string_view type_url) {
  auto payload = status.GetPayload(type_url);  // absl::optional: Debian builds Abseil as C++14
  if (!payload.has_value()) return std::nullopt;
  Message message;
  if (!message.ParseFromString(std::string(*payload))) return std::nullopt;
  return message;
}

template <typename Message>
void SetPayload(absl::Status& status, absl::string_view type_url, const Message& message) {
  status.SetPayload(type_url, absl::Cord(message.SerializeAsString()));
}

}  // namespace

absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kErrorDomain);
  for (const auto& [key, value] : metadata) (*info.mutable_metadata())[key] = value;
  SetPayload(status, kErrorInfoType, info);
  return status;
}

absl::Status WithErrorMetadata(absl::Status status, absl::string_view key, absl::string_view value) {
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  if (!info.has_value()) return status;
  (*info->mutable_metadata())[std::string(key)] = std::string(value);
  SetPayload(status, kErrorInfoType, *info);
  return status;
}

absl::Status WithRetryInfo(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  // google.protobuf.Duration's range is +-10,000 years; a wait is never negative, and nobody waits a day.
  delay = std::clamp(delay, absl::ZeroDuration(), kMaxRetryDelay);
  google::rpc::RetryInfo info;
  const int64_t seconds = absl::IDivDuration(delay, absl::Seconds(1), &delay);
  info.mutable_retry_delay()->set_seconds(seconds);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(delay)));
  SetPayload(status, kRetryInfoType, info);
  return status;
}

absl::Status AppendToMessage(const absl::Status& status, absl::string_view text) {
  if (status.ok()) return status;
  absl::Status annotated(status.code(), absl::StrCat(status.message(), text));
  status.ForEachPayload(
      [&annotated](absl::string_view type_url, const absl::Cord& payload) { annotated.SetPayload(type_url, payload); });
  return annotated;
}

std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status) {
  return GetPayload<google::rpc::ErrorInfo>(status, kErrorInfoType);
}

absl::Status InvalidFieldError(absl::string_view field, absl::string_view problem) {
  return WithFieldViolation(
      WithErrorInfo(absl::InvalidArgumentError(problem), reason::kInvalidArgument, {{"field", std::string(field)}}),
      field, problem);
}

absl::Status WithFieldViolation(absl::Status status, absl::string_view field, absl::string_view description) {
  if (status.ok()) return status;
  google::rpc::BadRequest bad_request = GetBadRequest(status).value_or(google::rpc::BadRequest());
  google::rpc::BadRequest::FieldViolation* violation = bad_request.add_field_violations();
  violation->set_field(std::string(field));
  violation->set_description(std::string(description));
  SetPayload(status, kBadRequestType, bad_request);
  return status;
}

std::optional<google::rpc::BadRequest> GetBadRequest(const absl::Status& status) {
  return GetPayload<google::rpc::BadRequest>(status, kBadRequestType);
}

std::optional<google::rpc::RetryInfo> GetRetryInfo(const absl::Status& status) {
  return GetPayload<google::rpc::RetryInfo>(status, kRetryInfoType);
}

}  // namespace pcusage
