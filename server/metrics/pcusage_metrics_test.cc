#include "server/metrics/pcusage_metrics.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "packaging/build_info.h"

namespace pcusage::metrics {
namespace {

using ::testing::HasSubstr;

constexpr char kList[] = "/partnercenter.usage.v1.UsageRecordsService/ListUsageRecords";

TEST(PcusageMetricsTest, EveryFamilyIsDeclaredWithHelpAndType) {
  const std::string text = ProcessRegistry().Render();
  for (const char* family :
       {"pcusage_build_info gauge", "pcusage_rpcs_total counter", "pcusage_active_streams gauge",
        "pcusage_records_streamed_total counter", "pcusage_messages_streamed_total counter",
        "pcusage_upstream_requests_total counter", "pcusage_upstream_request_duration_seconds histogram",
        "pcusage_upstream_retries_total counter", "pcusage_upstream_retry_wait_seconds_total counter",
        "pcusage_token_refreshes_total counter", "pcusage_snapshot_opens_total counter"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# TYPE ", family, "\n"))) << family;
  }
}

TEST(PcusageMetricsTest, BuildInfoNamesTheVersionCommitAndBuildMode) {
  EXPECT_THAT(ProcessRegistry().Render(),
              HasSubstr(absl::StrCat("pcusage_build_info{version=\"", build_info::Version(), "\",commit=\"",
                                     build_info::Commit(), "\",build_mode=\"", build_info::BuildMode(), "\"} 1\n")));
}

TEST(PcusageMetricsTest, AFinishedCallIsCountedByMethodAndCodeAndLeavesTheActiveStreams) {
  const PcusageMetrics& m = Pcusage();
  Gauge& active = m.active_streams->Labels({"partnercenter.usage.v1.UsageRecordsService/ListUsageRecords"});
  Counter& unauthenticated =
      m.rpcs->Labels({"partnercenter.usage.v1.UsageRecordsService/ListUsageRecords", "UNAUTHENTICATED"});
  const double active_before = active.value();
  const double unauthenticated_before = unauthenticated.value();
  RpcStarted(kList);
  EXPECT_EQ(active.value(), active_before + 1);
  RpcFinished(kList, 16);
  EXPECT_EQ(active.value(), active_before);
  EXPECT_EQ(unauthenticated.value(), unauthenticated_before + 1);
  EXPECT_THAT(ProcessRegistry().Render(),
              HasSubstr("pcusage_rpcs_total{method=\"partnercenter.usage.v1.UsageRecordsService/ListUsageRecords\","
                        "code=\"UNAUTHENTICATED\"} "));
}

TEST(PcusageMetricsTest, MethodsOutsideTheServersOwnAreOther) {
  EXPECT_EQ(MethodLabel(kList), "partnercenter.usage.v1.UsageRecordsService/ListUsageRecords");
  EXPECT_EQ(MethodLabel("/partnercenter.usage.v1.UsageRecordsService/WatchBudgets"),
            "partnercenter.usage.v1.UsageRecordsService/WatchBudgets");
  EXPECT_EQ(MethodLabel("/grpc.health.v1.Health/Check"), "grpc.health.v1.Health/Check");
  EXPECT_EQ(MethodLabel("/attacker.Chosen/Name"), "other");
  EXPECT_EQ(MethodLabel(""), "other");
}

TEST(PcusageMetricsTest, HttpStatusesAreTheOnesTreatedApartOrTheirClass) {
  EXPECT_EQ(HttpStatusLabel(200), "200");
  EXPECT_EQ(HttpStatusLabel(429), "429");
  EXPECT_EQ(HttpStatusLabel(504), "504");
  EXPECT_EQ(HttpStatusLabel(206), "2xx");
  EXPECT_EQ(HttpStatusLabel(418), "4xx");
  EXPECT_EQ(HttpStatusLabel(599), "5xx");
  EXPECT_EQ(HttpStatusLabel(600), "other");
  EXPECT_EQ(HttpStatusLabel(0), "other");
  EXPECT_EQ(TransportFailureLabel(absl::StatusCode::kUnavailable), "unreachable");
  EXPECT_EQ(TransportFailureLabel(absl::StatusCode::kDeadlineExceeded), "timeout");
  EXPECT_EQ(TransportFailureLabel(absl::StatusCode::kInvalidArgument), "failed");
}

TEST(PcusageMetricsTest, MessagesCountTheirRecords) {
  const PcusageMetrics& m = Pcusage();
  const double records = m.records->Get().value();
  const double messages = m.messages->Get().value();
  MessageStreamed(100);
  MessageStreamed(25);
  MessageStreamed(0);
  EXPECT_EQ(m.records->Get().value(), records + 125);
  EXPECT_EQ(m.messages->Get().value(), messages + 3);
}

TEST(PcusageMetricsTest, UpstreamRequestsAreCountedByStatusAndTimed) {
  const PcusageMetrics& m = Pcusage();
  Counter& throttled = m.upstream_requests->Labels({"partner_center", "429"});
  Counter& unreachable = m.upstream_requests->Labels({"token_endpoint", "unreachable"});
  Histogram& pages = m.upstream_durations->Labels({"partner_center"});
  const double throttled_before = throttled.value();
  const double unreachable_before = unreachable.value();
  const double sum_before = pages.sum();
  UpstreamResponse(Upstream::kPartnerCenter, 429, absl::Milliseconds(250));
  UpstreamFailure(Upstream::kTokenEndpoint, absl::StatusCode::kUnavailable, absl::Seconds(1));
  EXPECT_EQ(throttled.value(), throttled_before + 1);
  EXPECT_EQ(unreachable.value(), unreachable_before + 1);
  EXPECT_EQ(pages.sum(), sum_before + 0.25);
}

TEST(PcusageMetricsTest, RetriesCountTheWaitByReason) {
  const PcusageMetrics& m = Pcusage();
  const double retries = m.retries->Labels({"throttled"}).value();
  const double waited = m.retry_wait->Labels({"throttled"}).value();
  UpstreamRetry("throttled", absl::Seconds(3));
  EXPECT_EQ(m.retries->Labels({"throttled"}).value(), retries + 1);
  EXPECT_EQ(m.retry_wait->Labels({"throttled"}).value(), waited + 3);
}

TEST(PcusageMetricsTest, TokenRefreshesAndSnapshotsHaveTheirOutcomes) {
  const PcusageMetrics& m = Pcusage();
  const double failed = m.token_refreshes->Labels({"failed"}).value();
  const double joins = m.snapshot_opens->Labels({"join"}).value();
  TokenRefresh(false);
  SnapshotOpened(SnapshotOpen::kJoin);
  EXPECT_EQ(m.token_refreshes->Labels({"failed"}).value(), failed + 1);
  EXPECT_EQ(m.snapshot_opens->Labels({"join"}).value(), joins + 1);
}

}  // namespace
}  // namespace pcusage::metrics
