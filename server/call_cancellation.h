// A call's "has it ended?" as a predicate cheap enough to ask for every page and from libcurl's progress callback.
// gRPC's synchronous ServerContext::IsCancelled() plucks the call's completion queue each time it is asked (a lock
// the poller thread also takes, and a zero-timeout poll); asked three times a page it cost a tenth of the server's CPU
// in futex waits. The predicate asks at most once per interval and remembers a yes, so a cancel is seen at most one
// interval late.
#ifndef PCUSAGE_SERVER_CALL_CANCELLATION_H_
#define PCUSAGE_SERVER_CALL_CANCELLATION_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pcusage {

inline constexpr absl::Duration kCancellationCheckInterval = absl::Milliseconds(5);

// `ask` answers at most once per `interval` (by `now`), from any thread; once it has said yes, so does the result.
std::function<bool()> ThrottledCancellation(std::function<bool()> ask,
                                            absl::Duration interval = kCancellationCheckInterval,
                                            std::function<absl::Time()> now = absl::Now);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_CALL_CANCELLATION_H_
