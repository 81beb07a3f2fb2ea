#include "server/metrics/instrumented_transport.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/mock_http_transport.h"

namespace pcusage::metrics {
namespace {

using ::testing::Return;

http::HttpResponse Response(int status) {
  http::HttpResponse response;
  response.status_code = status;
  response.body = "body";
  return response;
}

TEST(InstrumentedTransportTest, CountsEachRequestByItsStatusAndPassesItsResultOn) {
  auto mock = std::make_shared<http::MockHttpTransport>();
  std::shared_ptr<http::HttpTransport> transport = Instrumented(mock, Upstream::kPartnerCenter);
  const PcusageMetrics& m = Pcusage();
  Counter& ok = m.upstream_requests->Labels({"partner_center", "200"});
  Counter& throttled = m.upstream_requests->Labels({"partner_center", "429"});
  Counter& unreachable = m.upstream_requests->Labels({"partner_center", "unreachable"});
  const std::vector<uint64_t> buckets_before = m.upstream_durations->Labels({"partner_center"}).BucketCounts();
  const double ok_before = ok.value();
  const double throttled_before = throttled.value();
  const double unreachable_before = unreachable.value();

  EXPECT_CALL(*mock, Send)
      .WillOnce(Return(Response(200)))
      .WillOnce(Return(Response(429)))
      .WillOnce(Return(absl::UnavailableError("connection refused")));
  absl::StatusOr<http::HttpResponse> first = transport->Send(http::HttpRequest{});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status_code, 200);
  EXPECT_EQ(first->body, "body");
  EXPECT_EQ(transport->Send(http::HttpRequest{})->status_code, 429);
  EXPECT_EQ(transport->Send(http::HttpRequest{}).status().code(), absl::StatusCode::kUnavailable);

  EXPECT_EQ(ok.value(), ok_before + 1);
  EXPECT_EQ(throttled.value(), throttled_before + 1);
  EXPECT_EQ(unreachable.value(), unreachable_before + 1);
  uint64_t observed = 0;
  const std::vector<uint64_t> buckets = m.upstream_durations->Labels({"partner_center"}).BucketCounts();
  for (std::size_t i = 0; i < buckets.size(); ++i) observed += buckets[i] - buckets_before[i];
  EXPECT_EQ(observed, 3u);
}

TEST(InstrumentedTransportTest, TheTokenEndpointIsItsOwnUpstream) {
  auto mock = std::make_shared<http::MockHttpTransport>();
  std::shared_ptr<http::HttpTransport> transport = Instrumented(mock, Upstream::kTokenEndpoint);
  Counter& rejected = Pcusage().upstream_requests->Labels({"token_endpoint", "400"});
  Counter& pages = Pcusage().upstream_requests->Labels({"partner_center", "400"});
  const double rejected_before = rejected.value();
  const double pages_before = pages.value();
  EXPECT_CALL(*mock, Send).WillOnce(Return(Response(400)));
  (void)transport->Send(http::HttpRequest{});
  EXPECT_EQ(rejected.value(), rejected_before + 1);
  EXPECT_EQ(pages.value(), pages_before);
}

}  // namespace
}  // namespace pcusage::metrics
