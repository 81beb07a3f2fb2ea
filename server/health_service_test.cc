#include "server/health_service.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "gtest/gtest.h"

namespace pcusage {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthCheckRequest ForService(const std::string& service) {
  HealthCheckRequest request;
  request.set_service(service);
  return request;
}

class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto health = std::make_unique<HealthService>(HealthServiceOptions{absl::Milliseconds(20)});
    health_ = health.get();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(health.get());
    builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(std::move(health)));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_EQ(server_->GetHealthCheckService(), health_) << "the server's health service is ours";
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
  }

  // The status Check answers, or the call's error.
  grpc::Status Check(const std::string& service, HealthCheckResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return grpc::internal::BlockingUnaryCall<HealthCheckRequest, HealthCheckResponse>(
        channel_.get(),
        grpc::internal::RpcMethod("/grpc.health.v1.Health/Check", grpc::internal::RpcMethod::NORMAL_RPC, channel_),
        &context, ForService(service), response);
  }
  HealthCheckResponse::ServingStatus CheckedStatus(const std::string& service) {
    HealthCheckResponse response;
    grpc::Status status = Check(service, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> Watch(grpc::ClientContext* context,
                                                                 const std::string& service) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));  // a hang guard
    return std::unique_ptr<grpc::ClientReader<HealthCheckResponse>>(
        grpc::internal::ClientReaderFactory<HealthCheckResponse>::Create(
            channel_.get(),
            grpc::internal::RpcMethod("/grpc.health.v1.Health/Watch", grpc::internal::RpcMethod::SERVER_STREAMING,
                                      channel_),
            context, ForService(service)));
  }

  HealthService* health_ = nullptr;  // owned by server_
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(HealthServiceTest, CheckAnswersWhatWasSetAndNotFoundForAServiceNeverNamed) {
  EXPECT_EQ(CheckedStatus(""), HealthCheckResponse::SERVING);
  HealthCheckResponse response;
  EXPECT_EQ(Check("partnercenter.usage.v1.UsageRecordsService", &response).error_code(), grpc::StatusCode::NOT_FOUND);
  health_->SetServingStatus("partnercenter.usage.v1.UsageRecordsService", false);
  EXPECT_EQ(CheckedStatus("partnercenter.usage.v1.UsageRecordsService"), HealthCheckResponse::NOT_SERVING);
  health_->SetServingStatus("partnercenter.usage.v1.UsageRecordsService", true);
  EXPECT_EQ(CheckedStatus("partnercenter.usage.v1.UsageRecordsService"), HealthCheckResponse::SERVING);
  health_->SetServingStatus(false);
  EXPECT_EQ(CheckedStatus(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(CheckedStatus("partnercenter.usage.v1.UsageRecordsService"), HealthCheckResponse::NOT_SERVING);
}

TEST_F(HealthServiceTest, AfterShutdownEveryServiceIsNotServingForGood) {
  health_->SetServingStatus("a", true);
  health_->Shutdown();
  EXPECT_EQ(CheckedStatus(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(CheckedStatus("a"), HealthCheckResponse::NOT_SERVING);
  health_->SetServingStatus("a", true);
  health_->SetServingStatus(true);
  health_->SetServingStatus("b", true);
  EXPECT_EQ(CheckedStatus("a"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(CheckedStatus(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(CheckedStatus("b"), HealthCheckResponse::NOT_SERVING);
}

TEST_F(HealthServiceTest, AServiceNameTooLongIsInvalidArgument) {
  HealthCheckResponse response;
  const std::string too_long(HealthService::kMaxServiceNameBytes + 1, 'x');
  EXPECT_EQ(Check(too_long, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext context;
  auto watch = Watch(&context, too_long);
  EXPECT_FALSE(watch->Read(&response));
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(HealthServiceTest, WatchSendsTheStatusAtOnceThenEachChange) {
  grpc::ClientContext context;
  auto watch = Watch(&context, "svc");
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  health_->SetServingStatus("svc", true);
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  // Setting what is already set is no change; another service's change is not this one's.
  health_->SetServingStatus("svc", true);
  health_->SetServingStatus("other", false);
  health_->SetServingStatus("svc", false);
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  context.TryCancel();
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(HealthServiceTest, AWatchOfTheServerAsAWholeSeesShutdown) {
  grpc::ClientContext context;
  auto watch = Watch(&context, "");
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  health_->Shutdown();
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  context.TryCancel();
  watch->Finish();
}

}  // namespace
}  // namespace pcusage
