#include "server/record_filter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/common/guid.h"
#include "server/common/printable.h"

namespace pcusage {
namespace {

namespace v1 = ::partnercenter::usage::v1;

constexpr std::size_t kGuidLength = 36;
constexpr std::size_t kCurrencyCodeLength = 3;

absl::Status TooMany(absl::string_view field, int count) {
  return InvalidFieldError(
      field, absl::StrCat(field, " has ", count, " entries; at most ", kMaxFilterValues, " are accepted"));
}

bool IsCurrencyCode(absl::string_view text) {
  return text.size() == kCurrencyCodeLength && std::all_of(text.begin(), text.end(), [](char c) {
           return absl::ascii_isalpha(static_cast<unsigned char>(c));
         });
}

// `text` in a fixed-size buffer, changed by `convert` (ascii_tolower or ascii_toupper), when it is `N` long.
template <std::size_t N>
std::optional<absl::string_view> Converted(absl::string_view text, char (&buffer)[N], char (*convert)(unsigned char)) {
  if (text.size() != N) return std::nullopt;
  for (std::size_t i = 0; i < N; ++i) buffer[i] = convert(static_cast<unsigned char>(text[i]));
  return absl::string_view(buffer, N);
}

}  // namespace

absl::StatusOr<std::optional<RecordFilter>> RecordFilter::FromRequest(const v1::ListUsageRecordsRequest& request) {
  if (request.customer_ids().empty() && request.currency_codes().empty() && !request.has_min_percent_used() &&
      !request.only_with_budget()) {
    return std::nullopt;
  }
  RecordFilter filter;
  if (request.customer_ids_size() > kMaxFilterValues) return TooMany("customer_ids", request.customer_ids_size());
  for (int i = 0; i < request.customer_ids_size(); ++i) {
    const std::string& id = request.customer_ids(i);
    if (!IsGuid(id)) {
      const std::string field = absl::StrCat("customer_ids[", i, "]");
      return InvalidFieldError(field,
                               absl::StrCat(field, " must be a customer's tenant id, a GUID such as ",
                                            "b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2 (got \"", Printable(id, 64), "\")"));
    }
    filter.customer_ids_.insert(absl::AsciiStrToLower(id));
  }
  if (request.currency_codes_size() > kMaxFilterValues) {
    return TooMany("currency_codes", request.currency_codes_size());
  }
  for (int i = 0; i < request.currency_codes_size(); ++i) {
    const std::string& code = request.currency_codes(i);
    if (!IsCurrencyCode(code)) {
      const std::string field = absl::StrCat("currency_codes[", i, "]");
      return InvalidFieldError(
          field, absl::StrCat(field, " must be an ISO 4217 currency code of three letters such as ", "EUR (got \"",
                              Printable(code, 64), "\")"));
    }
    filter.currency_codes_.insert(absl::AsciiStrToUpper(code));
  }
  if (request.has_min_percent_used()) {
    filter.min_percent_used_text_ = std::make_shared<const std::string>(request.min_percent_used().value());
    absl::StatusOr<ExactDecimal> minimum = ExactDecimal::Parse(*filter.min_percent_used_text_);
    if (!minimum.ok()) {
      return InvalidFieldError("min_percent_used",
                               absl::StrCat("min_percent_used must be a decimal number such as 80 or ",
                                            "99.5: ", minimum.status().message()));
    }
    filter.min_percent_used_ = *minimum;
  }
  filter.only_with_budget_ = request.only_with_budget();
  return filter;
}

bool RecordFilter::Passes(const partner_center::RecordFacts& record) const {
  if (only_with_budget_ && !record.budget_has_amount) return false;
  if (!customer_ids_.empty()) {
    char lower[kGuidLength];
    const std::optional<absl::string_view> id = Converted(record.resource_id, lower, absl::ascii_tolower);
    if (!id.has_value() || !customer_ids_.contains(*id)) return false;
  }
  if (!currency_codes_.empty()) {
    char upper[kCurrencyCodeLength];
    const std::optional<absl::string_view> code = Converted(record.currency_code, upper, absl::ascii_toupper);
    if (!code.has_value() || !currency_codes_.contains(*code)) return false;
  }
  if (min_percent_used_.has_value()) {
    if (!record.percent_used.has_value()) return false;
    const absl::StatusOr<ExactDecimal> percent_used = ExactDecimal::Parse(*record.percent_used);
    // A value no decimal library reads (an exponent past 18 digits) cannot be shown to reach the minimum.
    if (!percent_used.ok() || *percent_used < *min_percent_used_) return false;
  }
  return true;
}

}  // namespace pcusage
