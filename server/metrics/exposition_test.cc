#include "server/metrics/exposition.h"

#include <limits>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pcusage::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ExpositionTest, ACounterWithoutLabelsHasHelpTypeAndItsValueFromTheStart) {
  Registry registry;
  Family<Counter>* records = *registry.AddCounter("records_total", "Records sent.");
  EXPECT_EQ(registry.Render(), "# HELP records_total Records sent.\n# TYPE records_total counter\nrecords_total 0\n");
  records->Get().Add(25);
  records->Get().Increment();
  EXPECT_EQ(registry.Render(), "# HELP records_total Records sent.\n# TYPE records_total counter\nrecords_total 26\n");
}

TEST(ExpositionTest, ACounterNeverGoesDown) {
  Registry registry;
  Counter& counter = (*registry.AddCounter("c_total", "c"))->Get();
  counter.Add(2);
  counter.Add(-1);
  EXPECT_EQ(counter.value(), 2);
}

TEST(ExpositionTest, LabelledSeriesAppearOnceUsedInDeclarationOrder) {
  Registry registry;
  Family<Counter>* rpcs = *registry.AddCounter("rpcs_total", "Calls.",
                                               {{"method", {"List", "Check"}}, {"code", {"OK", "UNAUTHENTICATED"}}});
  EXPECT_EQ(registry.Render(), "# HELP rpcs_total Calls.\n# TYPE rpcs_total counter\n");
  rpcs->Labels({"Check", "OK"}).Increment();
  rpcs->Labels({"List", "UNAUTHENTICATED"}).Add(3);
  rpcs->Labels({"List", "OK"});  // looked up, never incremented: shown as 0
  EXPECT_EQ(registry.Render(),
            "# HELP rpcs_total Calls.\n# TYPE rpcs_total counter\n"
            "rpcs_total{method=\"List\",code=\"OK\"} 0\n"
            "rpcs_total{method=\"List\",code=\"UNAUTHENTICATED\"} 3\n"
            "rpcs_total{method=\"Check\",code=\"OK\"} 1\n");
}

TEST(ExpositionTest, AValueOutsideTheDeclaredSetIsCountedAsOther) {
  Registry registry;
  Family<Counter>* rpcs = *registry.AddCounter("rpcs_total", "Calls.", {{"method", {"List"}}});
  rpcs->Labels({"/evil.Service/Anything"}).Increment();
  rpcs->Labels({"something else entirely"}).Increment();
  rpcs->Labels({"List", "one value too many"}).Increment();
  EXPECT_EQ(rpcs->Labels({"other"}).value(), 3);
  EXPECT_EQ(registry.Render(), "# HELP rpcs_total Calls.\n# TYPE rpcs_total counter\nrpcs_total{method=\"other\"} 3\n");
}

TEST(ExpositionTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue(R"(C:\dir "quoted")"), R"(C:\\dir \"quoted\")");
  EXPECT_EQ(EscapeLabelValue("two\nlines"), "two\\nlines");
  EXPECT_EQ(EscapeLabelValue("plain-ascii_1.2"), "plain-ascii_1.2");

  Registry registry;
  Family<Gauge>* info = *registry.AddGauge("info", "Build.", {{"version", {"a\\b\"c\nd"}}});
  info->Labels({"a\\b\"c\nd"}).Set(1);
  EXPECT_THAT(registry.Render(), HasSubstr("info{version=\"a\\\\b\\\"c\\nd\"} 1\n"));
}

TEST(ExpositionTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  Registry registry;
  ASSERT_TRUE(registry.AddGauge("g", "a \\ and \"quotes\"\nsecond line").ok());
  EXPECT_THAT(registry.Render(), HasSubstr("# HELP g a \\\\ and \"quotes\"\\nsecond line\n# TYPE g gauge\n"));
}

TEST(ExpositionTest, GaugesGoUpAndDown) {
  Registry registry;
  Gauge& active = (*registry.AddGauge("active", "In progress."))->Get();
  active.Add(1);
  active.Add(1);
  active.Add(-1);
  EXPECT_EQ(registry.Render(), "# HELP active In progress.\n# TYPE active gauge\nactive 1\n");
}

TEST(ExpositionTest, HistogramBucketsAreCumulativeAndEndWithInfThenSumAndCount) {
  Registry registry;
  Family<Histogram>* latency =
      *registry.AddHistogram("latency_seconds", "Latency.", {0.125, 0.5, 2}, {{"upstream", {"pc"}}});
  Histogram& pc = latency->Labels({"pc"});
  pc.Observe(0.0625);
  pc.Observe(0.125);  // on a bound: counted in that bucket (le is "less than or equal")
  pc.Observe(0.25);
  pc.Observe(7);
  EXPECT_EQ(registry.Render(),
            "# HELP latency_seconds Latency.\n# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{upstream=\"pc\",le=\"0.125\"} 2\n"
            "latency_seconds_bucket{upstream=\"pc\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{upstream=\"pc\",le=\"2\"} 3\n"
            "latency_seconds_bucket{upstream=\"pc\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{upstream=\"pc\"} 7.4375\n"
            "latency_seconds_count{upstream=\"pc\"} 4\n");
}

TEST(ExpositionTest, AHistogramWithoutLabelsHasOnlyLe) {
  Registry registry;
  Histogram& sizes = (*registry.AddHistogram("sizes", "Sizes.", {1}))->Get();
  sizes.Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP sizes Sizes.\n# TYPE sizes histogram\n"
            "sizes_bucket{le=\"1\"} 0\nsizes_bucket{le=\"+Inf\"} 1\nsizes_sum 3\nsizes_count 1\n");
}

TEST(ExpositionTest, FamiliesRenderInTheOrderTheyWereAdded) {
  Registry registry;
  ASSERT_TRUE(registry.AddGauge("b", "B.").ok());
  ASSERT_TRUE(registry.AddCounter("a_total", "A.").ok());
  ASSERT_TRUE(registry.AddHistogram("c", "C.", {1}).ok());
  const std::string text = registry.Render();
  EXPECT_LT(text.find("# TYPE b gauge"), text.find("# TYPE a_total counter"));
  EXPECT_LT(text.find("# TYPE a_total counter"), text.find("# TYPE c histogram"));
}

TEST(ExpositionTest, ValuesAreIntegersWhenWholeAndShortestOtherwise) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(123456789012), "123456789012");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(2.5e-7), "2.5e-07");
  EXPECT_EQ(FormatValue(1e300), "1e+300");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(ExpositionTest, NamesThatPrometheusWouldRefuseAreRefused) {
  Registry registry;
  EXPECT_FALSE(registry.AddCounter("records", "a counter without _total").ok());
  EXPECT_FALSE(registry.AddGauge("1st", "starts with a digit").ok());
  EXPECT_FALSE(registry.AddGauge("has-dash", "dash").ok());
  EXPECT_FALSE(registry.AddGauge("g", "label le is the histogram's", {{"le", {"1"}}}).ok());
  EXPECT_FALSE(registry.AddGauge("g", "reserved label", {{"__name", {"1"}}}).ok());
  EXPECT_FALSE(registry.AddGauge("g", "label with a colon", {{"a:b", {"1"}}}).ok());
  EXPECT_FALSE(registry.AddGauge("g", "the same label twice", {{"a", {"1"}}, {"a", {"2"}}}).ok());
  EXPECT_FALSE(registry.AddHistogram("h", "no buckets", {}).ok());
  EXPECT_FALSE(registry.AddHistogram("h", "descending", {2, 1}).ok());
  EXPECT_FALSE(registry.AddHistogram("h", "not finite", {1, std::numeric_limits<double>::infinity()}).ok());
  std::vector<std::string> many(100, "v");
  EXPECT_FALSE(registry.AddGauge("g", "too many series", {{"a", many}, {"b", many}}).ok());
  ASSERT_TRUE(registry.AddGauge("ok:name_1", "fine").ok());
  EXPECT_FALSE(registry.AddCounter("ok:name_1", "taken").ok());
  EXPECT_THAT(registry.Render(), Not(HasSubstr("# TYPE g ")));
}

TEST(ExpositionTest, UpdatesFromManyThreadsAreAllCounted) {
  Registry registry;
  Counter& counter = (*registry.AddCounter("c_total", "c"))->Get();
  Histogram& histogram = (*registry.AddHistogram("h", "h", {1}))->Get();
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.Increment();
        histogram.Observe(0.5);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), 80000);
  EXPECT_EQ(histogram.BucketCounts()[0], 80000u);
  EXPECT_EQ(histogram.sum(), 40000);
}

}  // namespace
}  // namespace pcusage::metrics
