// grpc.health.v1.Health/Check from integration tests, without the health proto's generated code.
#ifndef PCUSAGE_TESTS_TESTING_HEALTH_CHECK_H_
#define PCUSAGE_TESTS_TESTING_HEALTH_CHECK_H_

#include <string>

#include "absl/time/time.h"

namespace pcusage::testing {

// The serving status of `service` ("" for the server as a whole) on the plaintext server at 127.0.0.1:`port`:
// "SERVING", "NOT_SERVING", "UNKNOWN", or the gRPC error code's name when the check itself failed.
std::string HealthStatus(int port, const std::string& service);

// Polls HealthStatus until it is `expected` or `timeout` passes; whether it got there.
bool AwaitHealthStatus(int port, const std::string& service, const std::string& expected,
                       absl::Duration timeout = absl::Seconds(30));

}  // namespace pcusage::testing

#endif  // PCUSAGE_TESTS_TESTING_HEALTH_CHECK_H_
