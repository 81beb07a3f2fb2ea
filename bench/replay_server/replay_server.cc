// bench/snapshots' trivial gRPC server on pcusage's own stack (Debian's gRPC C++ 1.51, synchronous API, the same
// raw-bytes handler and last-message write as server/usage_records_service.cc): at start it calls ListUsageRecords
// once on a pcusage server and keeps the serialized messages; then it answers every call with exactly those bytes.
// Nothing is parsed, checked, logged or counted per call, so what pcusage serving a held snapshot costs beyond it is
// pcusage's own work; bench/goclient/cmd/replayserver is the same server on grpc-go.
//
// --grpc_health_service adds gRPC's default health service (a callback service), to measure what one costs the
// synchronous server's calls (docs/benchmarks.md).
//
//   replay_server --source=127.0.0.1:PORT [--page_size=100] [--listen=127.0.0.1:0] [--port_file=FILE]
//                 [--grpc_health_service]
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/codegen/method_handler.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/codegen/rpc_service_method.h"
#include "grpcpp/support/sync_stream.h"
#include "partnercenter/usage/v1/usage_records.pb.h"

ABSL_FLAG(std::string, source, "", "pcusage server host:port whose answer is replayed");
ABSL_FLAG(int, page_size, 100, "records per message asked of the source");
ABSL_FLAG(std::string, listen, "127.0.0.1:0", "address to serve on (loopback)");
ABSL_FLAG(std::string, port_file, "", "write the bound port here once serving");
ABSL_FLAG(bool, grpc_health_service, false, "also serve gRPC's default health service (a callback service)");

namespace {

constexpr char kMethod[] = "/partnercenter.usage.v1.UsageRecordsService/ListUsageRecords";

// Lists once through `source`; every message as the bytes it arrived in.
std::vector<grpc::ByteBuffer> Record(const std::string& source, int page_size) {
  auto channel = grpc::CreateChannel(source, grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(1));
  partnercenter::usage::v1::ListUsageRecordsRequest request;
  request.set_page_size(page_size);
  grpc::ByteBuffer request_bytes;
  bool own_buffer = false;
  if (!grpc::GenericSerialize<grpc::ProtoBufferWriter, partnercenter::usage::v1::ListUsageRecordsRequest>(
           request, &request_bytes, &own_buffer)
           .ok()) {
    return {};
  }
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call = stub.PrepareCall(&context, kMethod, &cq);
  const auto step = [&cq](void* tag) {
    void* got = nullptr;
    bool ok = false;
    return cq.Next(&got, &ok) && got == tag && ok;
  };
  std::vector<grpc::ByteBuffer> messages;
  int tag = 0;
  call->StartCall(&tag);
  if (!step(&tag)) return {};
  call->Write(request_bytes, &tag);
  if (!step(&tag)) return {};
  call->WritesDone(&tag);
  if (!step(&tag)) return {};
  for (;;) {
    grpc::ByteBuffer message;
    call->Read(&message, &tag);
    if (!step(&tag)) break;
    messages.push_back(std::move(message));
  }
  grpc::Status status;
  call->Finish(&status, &tag);
  if (!step(&tag) || !status.ok()) {
    std::cerr << "replay_server: the source answered " << status.error_code() << ": " << status.error_message() << "\n";
    return {};
  }
  return messages;
}

class ReplayService final : public grpc::Service {
 public:
  explicit ReplayService(std::vector<grpc::ByteBuffer> messages) : messages_(std::move(messages)) {
    AddMethod(new grpc::internal::RpcServiceMethod(
        kMethod, grpc::internal::RpcMethod::SERVER_STREAMING,
        new grpc::internal::ServerStreamingHandler<ReplayService, grpc::ByteBuffer, grpc::ByteBuffer>(
            [](ReplayService* service, grpc::ServerContext*, const grpc::ByteBuffer*,
               grpc::ServerWriter<grpc::ByteBuffer>* writer) { return service->Replay(*writer); },
            this)));
  }

 private:
  grpc::Status Replay(grpc::ServerWriter<grpc::ByteBuffer>& writer) const {
    for (std::size_t i = 0; i < messages_.size(); ++i) {
      grpc::WriteOptions options;
      if (i + 1 == messages_.size()) options.set_last_message();
      if (!writer.Write(messages_[i], options)) return grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
    }
    return grpc::Status::OK;
  }

  const std::vector<grpc::ByteBuffer> messages_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("bench/snapshots' trivial C++ gRPC server: replays one pcusage answer to every call");
  absl::ParseCommandLine(argc, argv);
  const std::string source = absl::GetFlag(FLAGS_source);
  if (source.empty()) {
    std::cerr << "replay_server: --source is required\n";
    return 2;
  }
  std::vector<grpc::ByteBuffer> messages = Record(source, absl::GetFlag(FLAGS_page_size));
  if (messages.empty()) {
    std::cerr << "replay_server: could not record an answer from " << source << "\n";
    return 1;
  }
  ReplayService service(std::move(messages));
  grpc::EnableDefaultHealthCheckService(absl::GetFlag(FLAGS_grpc_health_service));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "replay_server: could not listen on " << absl::GetFlag(FLAGS_listen) << "\n";
    return 1;
  }
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    const std::string partial = port_file + ".tmp";
    std::ofstream(partial) << port << "\n";
    std::rename(partial.c_str(), port_file.c_str());
  }
  server->Wait();
  return 0;
}
