#include "server/metrics/metrics_server.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace pcusage::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    records_ = &(*registry_.AddCounter("records_total", "Records."))->Get();
    records_->Add(7);
  }

  std::unique_ptr<MetricsServer> StartOn(const std::string& listen) {
    MetricsServerOptions options;
    options.listen = listen;
    absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Start(registry_, options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  Registry registry_;
  Counter* records_ = nullptr;
};

TEST_F(MetricsServerTest, GetMetricsAnswersTheRegistrysTextAsPrometheusExpects) {
  std::unique_ptr<MetricsServer> server = StartOn("127.0.0.1:0");
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  EXPECT_TRUE(server->loopback());
  EXPECT_EQ(server->url(), absl::StrCat("http://127.0.0.1:", server->port(), "/metrics"));
  httplib::Client client("127.0.0.1", server->port());
  httplib::Result first = client.Get("/metrics");
  ASSERT_TRUE(first) << httplib::to_string(first.error());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(first->body, registry_.Render());
  EXPECT_THAT(first->body, HasSubstr("records_total 7\n"));

  records_->Increment();  // every scrape renders anew
  httplib::Result second = client.Get("/metrics");
  ASSERT_TRUE(second);
  EXPECT_THAT(second->body, HasSubstr("records_total 8\n"));
}

TEST_F(MetricsServerTest, OnlyGetMetricsIsServed) {
  std::unique_ptr<MetricsServer> server = StartOn("127.0.0.1:0");
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  for (const char* path : {"/", "/metrics/", "/debug", "/metrics/../debug"}) {
    httplib::Result result = client.Get(path);
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result->status, 404) << path;
  }
  httplib::Result with_query = client.Get("/metrics?name[]=x");
  ASSERT_TRUE(with_query);
  EXPECT_EQ(with_query->status, 200) << "a query string is ignored";
  httplib::Result posted = client.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(posted);
  EXPECT_NE(posted->status, 200);
}

TEST_F(MetricsServerTest, APortAloneOrAColonAndPortMeansLoopback) {
  for (const char* listen : {":0", "0"}) {
    std::unique_ptr<MetricsServer> server = StartOn(listen);
    ASSERT_NE(server, nullptr) << listen;
    EXPECT_TRUE(server->loopback()) << listen;
    EXPECT_THAT(server->url(), StartsWith("http://127.0.0.1:")) << listen;
  }
}

TEST_F(MetricsServerTest, AnyAddressIsNotLoopback) {
  std::unique_ptr<MetricsServer> server = StartOn("0.0.0.0:0");
  ASSERT_NE(server, nullptr);
  EXPECT_FALSE(server->loopback());
}

TEST_F(MetricsServerTest, BadAddressesAreRefusedClearly) {
  for (const char* listen : {"unix:/tmp/metrics.sock", "127.0.0.1", "127.0.0.1:99999", "no-such-host.invalid:80"}) {
    MetricsServerOptions options;
    options.listen = listen;
    absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Start(registry_, options);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << listen << ": " << server.status();
  }
  MetricsServerOptions no_threads;
  no_threads.listen = "127.0.0.1:0";
  no_threads.threads = 0;
  EXPECT_EQ(MetricsServer::Start(registry_, no_threads).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MetricsServerTest, APortInUseIsUnavailable) {
  std::unique_ptr<MetricsServer> first = StartOn("127.0.0.1:0");
  ASSERT_NE(first, nullptr);
  MetricsServerOptions options;
  options.listen = absl::StrCat("127.0.0.1:", first->port());
  EXPECT_EQ(MetricsServer::Start(registry_, options).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(MetricsServerTest, MoreScrapersThanThreadsAreAllAnsweredInTurn) {
  MetricsServerOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 1;
  absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Start(registry_, options);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  std::vector<int> statuses(12, 0);
  std::vector<std::thread> scrapers;
  scrapers.reserve(statuses.size());
  for (int& status : statuses) {
    scrapers.emplace_back([port, &status] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(false);
      httplib::Result result = client.Get("/metrics");
      status = result ? result->status : -1;
    });
  }
  for (std::thread& scraper : scrapers) scraper.join();
  for (int status : statuses) EXPECT_EQ(status, 200);
}

TEST_F(MetricsServerTest, StopsRightAfterStarting) {
  for (int i = 0; i < 20; ++i) EXPECT_NE(StartOn("127.0.0.1:0"), nullptr);
}

}  // namespace
}  // namespace pcusage::metrics
