#include "server/grpc_status.h"

#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/status.pb.h"
#include "server/common/error_details.h"
#include "server/common/printable.h"

namespace pcusage {

namespace {

// Status messages and ErrorInfo values quote upstream text: each goes through Printable once more here, so that no
// secret, control character or invalid UTF-8 reaches a caller, and the trailers stay far below gRPC's 16 KiB
// metadata limit (past it a caller sees "Stream removed" instead of the error).
constexpr std::size_t kMaxMessageBytes = 2048;
constexpr std::size_t kMaxMetadataValueBytes = 256;
constexpr std::size_t kMaxDescriptionBytes = 1024;

// `status` with `original`'s ErrorInfo (or one whose reason is the code's name) and `extra` metadata, all printable.
absl::Status WithPrintableErrorInfo(absl::Status status, const absl::Status& original,
                                    const std::map<std::string, std::string>& extra) {
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(original);
  std::map<std::string, std::string> metadata;
  if (info.has_value()) {
    for (const auto& [key, value] : info->metadata()) metadata[key] = Printable(value, kMaxMetadataValueBytes);
  }
  for (const auto& [key, value] : extra) metadata[key] = Printable(value, kMaxMetadataValueBytes);
  const std::string reason = info.has_value() ? info->reason() : absl::StatusCodeToString(status.code());
  return WithErrorInfo(std::move(status), reason, metadata);
}

// `status` with `original`'s BadRequest field violations, if any, each field and description printable: a
// description may quote what the caller or Partner Center sent.
absl::Status WithPrintableFieldViolations(absl::Status status, const absl::Status& original) {
  const std::optional<google::rpc::BadRequest> bad_request = GetBadRequest(original);
  if (!bad_request.has_value()) return status;
  for (const google::rpc::BadRequest::FieldViolation& violation : bad_request->field_violations()) {
    status = WithFieldViolation(std::move(status), Printable(violation.field(), kMaxMetadataValueBytes),
                                Printable(violation.description(), kMaxDescriptionBytes));
  }
  return status;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status, const std::map<std::string, std::string>& metadata) {
  if (status.ok()) return grpc::Status::OK;
  const std::string message = Printable(status.message(), kMaxMessageBytes);
  absl::Status detailed = WithPrintableFieldViolations(
      WithPrintableErrorInfo(absl::Status(status.code(), message), status, metadata), status);
  status.ForEachPayload([&detailed](absl::string_view type_url, const absl::Cord& payload) {
    if (!detailed.GetPayload(type_url).has_value()) detailed.SetPayload(type_url, payload);
  });
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(message);
  detailed.ForEachPayload([&rpc_status](absl::string_view type_url, const absl::Cord& payload) {
    google::protobuf::Any* detail = rpc_status.add_details();
    detail->set_type_url(std::string(type_url));
    detail->set_value(std::string(payload));
  });
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message, rpc_status.SerializeAsString());
}

}  // namespace pcusage
