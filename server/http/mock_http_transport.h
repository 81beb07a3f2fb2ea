// A gMock HttpTransport for tests of the layers above the network.
#ifndef PCUSAGE_SERVER_HTTP_MOCK_HTTP_TRANSPORT_H_
#define PCUSAGE_SERVER_HTTP_MOCK_HTTP_TRANSPORT_H_

#include "gmock/gmock.h"
#include "server/http/http_transport.h"

namespace pcusage::http {

class MockHttpTransport : public HttpTransport {
 public:
  MOCK_METHOD(absl::StatusOr<HttpResponse>, Send, (const HttpRequest& request), (override));
};

}  // namespace pcusage::http

#endif  // PCUSAGE_SERVER_HTTP_MOCK_HTTP_TRANSPORT_H_
