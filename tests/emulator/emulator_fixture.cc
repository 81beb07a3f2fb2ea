#include "tests/emulator/emulator_fixture.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/emulator/dataset.h"

namespace pcusage::emulator {

using ::nlohmann::json;

httplib::Params GrantForm(const std::string& refresh_token) {
  return {{"grant_type", "refresh_token"},
          {"client_id", "pcusage-test-client"},
          {"refresh_token", refresh_token},
          {"resource", "https://api.partnercenter.microsoft.com"}};
}

httplib::Params V2GrantForm(const std::string& refresh_token) {
  return {{"grant_type", "refresh_token"},
          {"client_id", "pcusage-test-client"},
          {"refresh_token", refresh_token},
          {"scope", "https://api.partnercenter.microsoft.com/user_impersonation"}};
}

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::string TestDirectory(absl::string_view name) {
  const char* root = std::getenv("TEST_TMPDIR");
  return absl::StrCat(root != nullptr ? root : "/tmp", "/", name);
}

httplib::Headers Authorized(httplib::Headers headers) {
  headers.emplace("Authorization", "Bearer emulator-token");
  return headers;
}

httplib::Headers ForPage(int page) {
  return page == 0 ? Authorized() : Authorized({{"MS-ContinuationToken", GeneratedDataset::ContinuationToken(page)}});
}

std::pair<std::string, std::string> SplitResponse(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  if (end == std::string::npos) return {response, ""};
  return {response.substr(0, end + 2), response.substr(end + 4)};
}

void EmulatorTest::Serve(EmulatorOptions options) {
  emulator_ = std::make_unique<PartnerCenterEmulator>(options);
  ASSERT_TRUE(emulator_->Start("127.0.0.1", 0).ok());
  ASSERT_GT(emulator_->port(), 0);
  client_ = std::make_unique<httplib::Client>("127.0.0.1", emulator_->port());
}

void EmulatorTest::ServeGenerated(int customers, int page_size) {
  EmulatorOptions options;
  options.dataset = EmulatorOptions::Dataset::kGenerated;
  options.customers = customers;
  options.page_size = page_size;
  Serve(options);
}

void EmulatorTest::ServeGeneratedWithFaults(int customers, int page_size, absl::string_view script) {
  ServeGenerated(customers, page_size);
  ASSERT_TRUE(emulator_->SetFaults(script).ok()) << script;
}

void EmulatorTest::ServeTokens(absl::Duration lifetime, const std::string& client_secret) {
  EmulatorOptions options;
  options.refresh_token = kRefreshToken;
  options.token_lifetime = lifetime;
  options.client_secret = client_secret;
  Serve(options);
}

json EmulatorTest::RequestToken(const char* path, const httplib::Params& form, int status) {
  httplib::Result result = client_->Post(path, form);
  if (!result) {
    ADD_FAILURE() << "no answer: " << httplib::to_string(result.error());
    return json();
  }
  EXPECT_EQ(result->status, status) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(result->get_header_value("Cache-Control"), "no-store");
  return json::parse(result->body, nullptr, /*allow_exceptions=*/false);
}

std::pair<int, std::string> EmulatorTest::UsageWith(const std::string& token) {
  httplib::Result result = client_->Get(kPath, Bearer(token));
  if (!result) return {0, httplib::to_string(result.error())};
  if (result->status == 200) return {200, ""};
  return {result->status, json::parse(result->body)["description"].get<std::string>()};
}

std::optional<RecordedRequest> EmulatorTest::Finished(size_t index) {
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  do {
    const std::vector<RecordedRequest> log = emulator_->requests();
    if (log.size() > index && log[index].completed.has_value()) return log[index];
    absl::SleepFor(absl::Milliseconds(5));
  } while (absl::Now() < deadline);
  return std::nullopt;
}

}  // namespace pcusage::emulator
