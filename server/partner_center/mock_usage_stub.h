// A gMock UsageStub, for tests of paging and retries that script whole page attempts instead of HTTP responses.
#ifndef PCUSAGE_SERVER_PARTNER_CENTER_MOCK_USAGE_STUB_H_
#define PCUSAGE_SERVER_PARTNER_CENTER_MOCK_USAGE_STUB_H_

#include "gmock/gmock.h"
#include "server/partner_center/usage_stub.h"

namespace pcusage::partner_center {

class MockUsageStub : public UsageStub {
 public:
  MOCK_METHOD(http::Attempt<UsageRecordsPage>, FetchPage, (const PageRequest& request), (override));
};

}  // namespace pcusage::partner_center

#endif  // PCUSAGE_SERVER_PARTNER_CENTER_MOCK_USAGE_STUB_H_
