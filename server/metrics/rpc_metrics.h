// Counts every gRPC call the server answers, by method and status code, and the calls in progress
// (pcusage_rpcs_total, pcusage_active_streams): a server interceptor, so ListUsageRecords, health and reflection are
// counted alike without a line in any handler.
#ifndef PCUSAGE_SERVER_METRICS_RPC_METRICS_H_
#define PCUSAGE_SERVER_METRICS_RPC_METRICS_H_

#include "grpcpp/support/server_interceptor.h"

namespace pcusage::metrics {

class RpcMetrics final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace pcusage::metrics

#endif  // PCUSAGE_SERVER_METRICS_RPC_METRICS_H_
