// A gMock HttpTransport for tests of the layers above the network.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_MOCK_HTTP_TRANSPORT_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_MOCK_HTTP_TRANSPORT_H_

#include "gmock/gmock.h"
#include "server/partner_center/http_transport.h"

namespace pcusage::partner_center {

class MockHttpTransport : public HttpTransport {
 public:
  MOCK_METHOD(absl::StatusOr<HttpResponse>, Send, (const HttpRequest& request), (override));
};

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_MOCK_HTTP_TRANSPORT_H_
