// A deterministic, generated stand-in for a partner's customers: every record
// the emulator serves in generated mode, with the values a correct client must
// recover from it, and the Partner Center JSON pages that carry them. The
// records deliberately cover the awkward cases: missing and null fields, exact
// decimals of up to 29 digits, exponent forms, negative zero, timestamps with
// offsets and 0-7 fractional digits, text that needs JSON escaping, and unknown
// fields a client must skip. The first 12 records already cover every case.
#ifndef PCUSAGE_TESTS_EMULATOR_DATASET_H_
#define PCUSAGE_TESTS_EMULATOR_DATASET_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pcusage::emulator {

// A SpendingBudget as a client should read it.
struct ExpectedBudget {
  // Whether the budget object is in the record at all (a null budget is not).
  bool present = false;
  // The amount's exact decimal text as sent; unset when missing or null, which
  // both mean that no budget is set.
  std::optional<std::string> amount;
};

// One CustomerMonthlyUsageRecord: the values a client should recover from the
// JSON, plus the few facts about how the JSON spells them. Decimal fields hold
// the exact number text as sent (e.g. "1.5e+2", "-0.0"); optional fields are
// unset when the JSON leaves the field out or sends null.
struct GeneratedRecord {
  std::string id;
  std::string name;
  std::string resource_id;
  std::string resource_name;
  ExpectedBudget budget;
  ExpectedBudget customer_spending_budget;
  ExpectedBudget usage_spending_budget;
  std::optional<std::string> percent_used;
  std::optional<std::string> total_cost;
  std::optional<std::string> usd_total_cost;
  std::optional<std::string> currency_locale;
  std::optional<std::string> currency_code;
  std::optional<std::string> currency_symbol;
  std::optional<bool> is_upgraded;
  // The RFC 3339 text as sent, and the instant it names (zero when unset).
  std::optional<std::string> last_modified_date;
  int64_t last_modified_unix_seconds = 0;
  int32_t last_modified_nanos = 0;
  std::string object_type = "CustomerMonthlyUsageRecord";

  // How the JSON spells what is missing: as explicit nulls (as a serializer
  // that writes nulls would), or by leaving the fields out. With nulls, a
  // budget without an amount says "amount": null.
  bool sends_nulls = false;
  // Whether strings are sent with every non-ASCII character as a \u escape
  // (emoji as surrogate pairs) rather than as raw UTF-8.
  bool ascii_escaped = false;
};

// A change to a generated data set between two walks of it (POST /emulator/dataset; record_edits.h reads them
// from JSON), so that tests can move a customer's percentUsed and budget, and add and remove customers.
struct RecordEdit {
  enum class Action { kChange, kAdd, kRemove };
  Action action = Action::kChange;
  // The customer changed, removed or added (resourceId and id), compared exactly.
  std::string resource_id;
  // When set, the new percentUsed: the exact JSON number text, or nullopt to send none.
  std::optional<std::optional<std::string>> percent_used;
  // When set, the budget's new amount: the exact JSON number text, or nullopt for a budget without an amount.
  std::optional<std::optional<std::string>> budget_amount;
  // When set, the new currencyCode (an added customer has "USD").
  std::optional<std::string> currency_code;
  // An added customer's resourceName (and name); "Added customer" when unset.
  std::optional<std::string> resource_name;
};

// N generated customers in pages of P, rendered as Partner Center's
// ResourceCollection JSON with MS-ContinuationToken paging.
class GeneratedDataset {
 public:
  // Requires customers >= 0 and page_size >= 1; out-of-range values are raised
  // to those bounds.
  GeneratedDataset(int customers, int page_size);

  // At least 1: an empty data set is one page with "items": [].
  int page_count() const;
  const std::vector<GeneratedRecord>& records() const;

  // The complete response body for `page` (0-based, < page_count()). Its
  // totalCount is customers + 7, deliberately not the item count; unknown
  // fields are sprinkled through it; every page but the last carries a
  // links.next with the MS-ContinuationToken header that names the next page,
  // ContinuationToken(page + 1).
  std::string RenderPage(int page) const;

  // The opaque token that names `page`.
  static std::string ContinuationToken(int page);
  // The page `token` names, if it names one of this data set's pages.
  std::optional<int> PageForToken(absl::string_view token) const;

  // Applies `edits` in order, all or none: an added customer is listed last, a removed one is no longer listed (the
  // pages after it shift), a change keeps the customer's place. INVALID_ARGUMENT, naming the edit by its index, for a
  // change or removal of a resource id that is not listed or an addition of one that is.
  absl::Status Apply(const std::vector<RecordEdit>& edits);

 private:
  int customers_;
  int page_size_;
  std::vector<GeneratedRecord> records_;
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_DATASET_H_
