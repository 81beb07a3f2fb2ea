#include "client_stubs/cpp/rfc3339.h"

#include <cstdint>

#include "google/protobuf/util/time_util.h"

namespace pcusage::client {
namespace {

using ::google::protobuf::util::TimeUtil;

void AppendDigits(int64_t value, int width, std::string* out) {
  char digits[20];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out->append(digits, width);
}

}  // namespace

bool AppendRfc3339(const google::protobuf::Timestamp& time, std::string* out) {
  if (time.seconds() < TimeUtil::kTimestampMinSeconds || time.seconds() > TimeUtil::kTimestampMaxSeconds ||
      time.nanos() < 0 || time.nanos() > 999999999) {
    return false;
  }
  constexpr int64_t kSecondsPerDay = 86400;
  int64_t days = time.seconds() / kSecondsPerDay;
  int64_t second_of_day = time.seconds() % kSecondsPerDay;
  if (second_of_day < 0) second_of_day += kSecondsPerDay, --days;
  // Civil date from days since 1970-01-01 (proleptic Gregorian, eras of 400 years).
  const int64_t shifted = days + 719468;
  const int64_t era = (shifted >= 0 ? shifted : shifted - 146096) / 146097;
  const int64_t day_of_era = shifted - era * 146097;
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);

  AppendDigits(year, 4, out);
  out->push_back('-');
  AppendDigits(month, 2, out);
  out->push_back('-');
  AppendDigits(day, 2, out);
  out->push_back('T');
  AppendDigits(second_of_day / 3600, 2, out);
  out->push_back(':');
  AppendDigits(second_of_day / 60 % 60, 2, out);
  out->push_back(':');
  AppendDigits(second_of_day % 60, 2, out);
  const int32_t nanos = time.nanos();
  if (nanos != 0) {
    out->push_back('.');
    if (nanos % 1000000 == 0) {
      AppendDigits(nanos / 1000000, 3, out);
    } else if (nanos % 1000 == 0) {
      AppendDigits(nanos / 1000, 6, out);
    } else {
      AppendDigits(nanos, 9, out);
    }
  }
  out->push_back('Z');
  return true;
}

}  // namespace pcusage::client
