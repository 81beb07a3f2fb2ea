#include "tests/emulator/error_bodies.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/emulator/random_ids.h"

namespace pcusage::emulator {

std::string PartnerCenterErrorBody(int code, absl::string_view description) {
  return nlohmann::json{
      {"code", code}, {"description", description}, {"data", nlohmann::json::array()}, {"source", "PartnerFD"}}
      .dump();
}

std::string IdentityPlatformErrorBody(absl::string_view error, int code, absl::string_view description) {
  const std::string trace_id = NewGuid();
  const std::string correlation_id = NewGuid();
  const std::string timestamp = absl::FormatTime("%Y-%m-%d %H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  return nlohmann::json{
      {"error", error},
      {"error_description", absl::StrCat("AADSTS", code, ": ", description, "\r\nTrace ID: ", trace_id,
                                         "\r\nCorrelation ID: ", correlation_id, "\r\nTimestamp: ", timestamp)},
      {"error_codes", nlohmann::json::array({code})},
      {"timestamp", timestamp},
      {"trace_id", trace_id},
      {"correlation_id", correlation_id},
      {"error_uri", absl::StrCat("https://login.microsoftonline.com/error?code=", code)}}
      .dump();
}

}  // namespace pcusage::emulator
