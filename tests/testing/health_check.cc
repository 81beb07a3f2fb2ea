#include "tests/testing/health_check.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/client_unary_call.h"

namespace pcusage::testing {

std::string HealthStatus(int port, const std::string& service) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  // HealthCheckRequest{service = 1}, encoded by hand.
  const std::string request = std::string(1, '\x0a') + static_cast<char>(service.size()) + service;
  grpc::Slice request_slice(request.data(), request.size());
  grpc::ByteBuffer request_bytes(&request_slice, 1);
  grpc::ByteBuffer response;
  const grpc::Status status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel.get(),
      grpc::internal::RpcMethod("/grpc.health.v1.Health/Check", grpc::internal::RpcMethod::NORMAL_RPC, channel),
      &context, request_bytes, &response);
  if (!status.ok()) return absl::StrCat("error ", status.error_code(), ": ", status.error_message());
  grpc::Slice slice;
  if (!response.DumpToSingleSlice(&slice).ok()) return "unreadable answer";
  // HealthCheckResponse{status = 1}: 1 SERVING, 2 NOT_SERVING; an empty message is UNKNOWN (0).
  if (slice.size() == 0) return "UNKNOWN";
  if (slice.size() != 2 || slice.begin()[0] != 0x08) return "unreadable answer";
  switch (slice.begin()[1]) {
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    default:
      return absl::StrCat("status ", slice.begin()[1]);
  }
}

bool AwaitHealthStatus(int port, const std::string& service, const std::string& expected, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (HealthStatus(port, service) != expected) {
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

}  // namespace pcusage::testing
