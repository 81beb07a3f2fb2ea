// What the emulator's tests share: the paths, tokens and secrets they use, the headers and token-grant forms they send,
// and EmulatorTest, a fixture that starts a PartnerCenterEmulator on a free loopback port with a client for it.
#ifndef PCUSAGE_TESTS_EMULATOR_EMULATOR_FIXTURE_H_
#define PCUSAGE_TESTS_EMULATOR_EMULATOR_FIXTURE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/emulator_server.h"

namespace pcusage::emulator {

inline constexpr char kPath[] = "/v1/customers/usagerecords";
inline constexpr char kTokenPath[] = "/contoso.onmicrosoft.com/oauth2/token";
inline constexpr char kV2TokenPath[] = "/0b6e3f3c-5b7a-4d8e-9f10-1a2b3c4d5e6f/oauth2/v2.0/token";
inline constexpr char kRefreshToken[] = "initial-refresh-token-3f9a";
inline constexpr char kClientSecret[] = "client-secret-7c21";

// A raw request for page 0 that asks the emulator to close the connection after answering.
inline constexpr char kRawRequest[] =
    "GET /v1/customers/usagerecords HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    "Authorization: Bearer emulator-token\r\nConnection: close\r\n\r\n";

// A v1 refresh-token grant for `refresh_token`, as pcusage's default public client sends it.
httplib::Params GrantForm(const std::string& refresh_token);

// The same for the v2.0 endpoint, which names the API by scope.
httplib::Params V2GrantForm(const std::string& refresh_token);

httplib::Headers Bearer(const std::string& token);

// A directory for the test's files, under the test's temporary directory.
std::string TestDirectory(absl::string_view name);

// `headers` with the emulator's default static access token.
httplib::Headers Authorized(httplib::Headers headers = {});

// The headers of a request for `page` of a generated data set.
httplib::Headers ForPage(int page);

// `response` split at the blank line after its headers.
std::pair<std::string, std::string> SplitResponse(const std::string& response);

class EmulatorTest : public ::testing::Test {
 protected:
  // Starts an emulator with `options` (replacing one started before) and a client for it.
  void Serve(EmulatorOptions options);

  void ServeGenerated(int customers, int page_size);

  void ServeGeneratedWithFaults(int customers, int page_size, absl::string_view script);

  // Serves the seed sample and a token endpoint that accepts kRefreshToken first.
  void ServeTokens(absl::Duration lifetime = absl::Hours(1), const std::string& client_secret = "");

  // POSTs `form` to the token endpoint `path`; the parsed body of the answer, expected to have `status`.
  nlohmann::json RequestToken(const char* path, const httplib::Params& form, int status);

  // The usage route's status and error description for `token`.
  std::pair<int, std::string> UsageWith(const std::string& token);

  // Log entry `index` once its response has been sent or abandoned; unset when that takes over 2 s.
  std::optional<RecordedRequest> Finished(size_t index);

  std::unique_ptr<PartnerCenterEmulator> emulator_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_EMULATOR_FIXTURE_H_
