#include "server/grpc_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/status.pb.h"
#include "server/common/error_details.h"

namespace pcusage {

grpc::Status ToGrpcStatus(const absl::Status& status, const std::map<std::string, std::string>& metadata) {
  if (status.ok()) return grpc::Status::OK;
  absl::Status detailed = status;
  if (!GetErrorInfo(detailed).has_value()) {
    detailed = WithErrorInfo(std::move(detailed), absl::StatusCodeToString(status.code()));
  }
  for (const auto& [key, value] : metadata) detailed = WithErrorMetadata(std::move(detailed), key, value);
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(std::string(status.message()));
  detailed.ForEachPayload([&rpc_status](absl::string_view type_url, const absl::Cord& payload) {
    google::protobuf::Any* detail = rpc_status.add_details();
    detail->set_type_url(std::string(type_url));
    detail->set_value(std::string(payload));
  });
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      rpc_status.SerializeAsString());
}

}  // namespace pcusage
