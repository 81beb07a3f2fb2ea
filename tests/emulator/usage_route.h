// The usage route, GET /v1/customers/usagerecords, answered as Partner Center answers it: the bearer token is checked,
// the page a continuation token names is picked, and the seed sample or that page of a generated data set is served,
// spoiled by the fault script's rule for the page if there is one.
#ifndef PCUSAGE_TESTS_EMULATOR_USAGE_ROUTE_H_
#define PCUSAGE_TESTS_EMULATOR_USAGE_ROUTE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "tests/emulator/dataset.h"
#include "tests/emulator/fault_script.h"
#include "tests/emulator/reply.h"

namespace pcusage::emulator {

inline constexpr absl::string_view kUsageRecordsPath = "/v1/customers/usagerecords";

class UsageRoute {
 public:
  // The emulator state the route reads and uses up; each call is atomic.
  struct State {
    // When the token endpoint's access token `token` expires; unset for a token it never issued.
    std::function<std::optional<absl::Time>(const std::string& token)> issued_token_expiry;
    // The fault script's rule for the next request of `page`, counted as used (FaultScript::TakeForPage).
    std::function<std::optional<FaultRule>(int page)> take_fault;
  };

  // Serves the pages of `dataset`, or the seed sample as page 0 without one. Requests must carry
  // "Authorization: Bearer <token>" with one of the comma-separated `access_token`s (which never expire; empty for
  // none) or a live issued token.
  UsageRoute(std::string access_token, std::optional<GeneratedDataset> dataset, State state);

  // The reply to `request`, with Reply::page set to the page it asks for. Requests that fail authentication or name
  // an unknown page are answered 401 or 400 and use up no rule.
  Reply Answer(const httplib::Request& request) const;

  // Applies the edits in `edits_json` (record_edits.h) to the generated data set, all or none; requests after it
  // returns are served the changed set. INVALID_ARGUMENT for edits that cannot apply, FAILED_PRECONDITION in seed
  // mode (the seed sample does not change).
  absl::Status EditDataset(absl::string_view edits_json);

 private:
  // Why `authorization` does not grant access, as the 401 body describes it; unset when it does.
  std::optional<std::string> AuthorizationFailure(absl::string_view authorization) const;
  // The page `request` asks for: 0 without a continuation token (and always in seed mode), unset when the token names
  // no page.
  std::optional<int> RequestedPage(const httplib::Request& request, const GeneratedDataset* dataset) const;
  // The data set as it is now (null in seed mode); requests keep the one they started with.
  std::shared_ptr<const GeneratedDataset> Dataset() const;

  std::string access_token_;
  const bool generated_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<const GeneratedDataset> dataset_ ABSL_GUARDED_BY(mutex_);
  State state_;
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_USAGE_ROUTE_H_
