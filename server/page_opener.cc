#include "server/page_opener.h"

#include <utility>

#include "absl/time/clock.h"
#include "server/common/log.h"
#include "server/partner_center/prefetched_pages.h"
#include "server/partner_center/renumbered_pages.h"

namespace pcusage {
namespace {

// Whether the call reads the list from its first record, so that any snapshot of its identity serves it.
bool FromTheFirstRecord(const StreamPosition& start) { return start.page.page_number <= 1 && start.skip_records == 0; }

snapshots::ReaderContext ReaderContextOf(const PagesRequest& request) {
  snapshots::ReaderContext context;
  context.is_cancelled = request.is_cancelled;
  context.deadline = request.deadline;
  return context;
}

}  // namespace

PageOpener::PageOpener(std::shared_ptr<const partner_center::UsageClient> client,
                       std::shared_ptr<tokens::AccessTokenSource> token_source, PageOpenerOptions options)
    : client_(std::move(client)), token_source_(std::move(token_source)), options_(std::move(options)) {
  if (options_.snapshot_max_staleness > absl::ZeroDuration()) {
    if (options_.redis != nullptr) {
      store_ =
          std::make_unique<snapshots::RedisSnapshotStore>(options_.redis, options_.redis_store, options_.snapshots);
    } else {
      store_ = std::make_unique<snapshots::SnapshotStore>(options_.snapshots);
    }
  }
}

PageOpener::~PageOpener() { store_.reset(); }

absl::StatusOr<CallPages> PageOpener::Open(const PagesRequest& request) {
  if (store_ == nullptr) {
    absl::StatusOr<std::string> token = token_source_->TokenForCall(request.caller_authorization, request.deadline);
    if (!token.ok()) return token.status();
    return OpenOwnWalk(request, *std::move(token));
  }
  std::optional<std::string> caller_token;
  std::string identity = snapshots::ServerCredentialsIdentity();
  if (token_source_->TokensComeFromCallers()) {
    absl::StatusOr<std::string> token = token_source_->TokenForCall(request.caller_authorization, request.deadline);
    if (!token.ok()) return token.status();
    identity = snapshots::BearerTokenIdentity(*token);
    caller_token = *std::move(token);
  }
  if (!request.start.snapshot_id.empty()) {
    std::optional<snapshots::OpenedSnapshot> resumed = store_->Resume(
        identity, request.start.snapshot_id, request.start.snapshot_page_index, ReaderContextOf(request));
    if (resumed.has_value()) {
      return CallPages{std::move(resumed->pages), StreamOrigin{resumed->snapshot_time, true, resumed->snapshot_id}};
    }
  }
  if (FromTheFirstRecord(request.start)) return OpenSnapshot(request, identity, std::move(caller_token));
  return OpenOwnWalk(request, std::move(caller_token));
}

absl::StatusOr<CallPages> PageOpener::OpenOwnWalk(const PagesRequest& request, std::optional<std::string> token) const {
  if (!token.has_value()) {
    absl::StatusOr<std::string> fetched = token_source_->TokenForCall(request.caller_authorization, request.deadline);
    if (!fetched.ok()) return fetched.status();
    token = *std::move(fetched);
  }
  partner_center::ListCall call;
  call.access_token = *std::move(token);
  call.correlation_id = request.correlation_id;
  call.deadline = request.deadline;
  call.is_cancelled = request.is_cancelled;
  call.renew_access_token = [token_source = token_source_, deadline = request.deadline](absl::string_view rejected) {
    return token_source->TokenAfterRejection(rejected, deadline);
  };
  CallPages opened;
  opened.origin.snapshot_time = absl::Now();
  opened.pages = client_->ListUsageRecords(std::move(call), request.start.page);
  if (options_.prefetch_pages) {
    opened.pages = std::make_unique<partner_center::PrefetchedPages>(std::move(opened.pages));
  }
  return opened;
}

CallPages PageOpener::OpenSnapshot(const PagesRequest& request, const std::string& identity,
                                   std::optional<std::string> caller_token) {
  const absl::Duration max_staleness = request.max_staleness.value_or(options_.snapshot_max_staleness);
  snapshots::ReaderContext context = ReaderContextOf(request);
  context.continue_walk = WalkContinuer(caller_token, request.correlation_id);
  snapshots::OpenedSnapshot opened = store_->Open(
      identity, max_staleness, WalkStarter(std::move(caller_token), request.correlation_id), std::move(context));
  if (!opened.shared) {
    LogEvent(LogLevel::kInfo, "shared walk of Partner Center started",
             {{"snapshot", opened.snapshot_id}, {"correlation_id", request.correlation_id}});
  }
  return CallPages{std::move(opened.pages),
                   StreamOrigin{opened.snapshot_time, opened.shared, std::move(opened.snapshot_id)}};
}

absl::StatusOr<partner_center::ListCall> PageOpener::WalkCall(const std::optional<std::string>& caller_token,
                                                              const std::string& correlation_id,
                                                              absl::Time started) const {
  const absl::Time deadline = started + options_.max_walk_duration;
  partner_center::ListCall call;
  if (caller_token.has_value()) {
    call.access_token = *caller_token;
  } else {
    absl::StatusOr<std::string> token = token_source_->TokenForCall(std::nullopt, deadline);
    if (!token.ok()) return token.status();
    call.access_token = *std::move(token);
  }
  call.correlation_id = correlation_id;
  call.deadline = deadline;
  call.renew_access_token = [token_source = token_source_, deadline](absl::string_view rejected) {
    return token_source->TokenAfterRejection(rejected, deadline);
  };
  return call;
}

snapshots::StartWalk PageOpener::WalkStarter(std::optional<std::string> caller_token,
                                             std::string correlation_id) const {
  return [this, caller_token = std::move(caller_token),
          correlation_id = std::move(correlation_id)]() -> absl::StatusOr<std::unique_ptr<partner_center::PageSource>> {
    absl::StatusOr<partner_center::ListCall> call = WalkCall(caller_token, correlation_id, absl::Now());
    if (!call.ok()) return call.status();
    return client_->ListUsageRecords(*std::move(call), client_->FirstPage());
  };
}

snapshots::ContinueWalk PageOpener::WalkContinuer(std::optional<std::string> caller_token,
                                                  std::string correlation_id) const {
  return [this, caller_token = std::move(caller_token), correlation_id = std::move(correlation_id)](
             const partner_center::PagePosition& from, int64_t first_index,
             absl::Time walk_started) -> absl::StatusOr<std::unique_ptr<partner_center::PageSource>> {
    absl::StatusOr<partner_center::ListCall> call = WalkCall(caller_token, correlation_id, walk_started);
    if (!call.ok()) return call.status();
    return std::make_unique<partner_center::RenumberedPages>(client_->ListUsageRecords(*std::move(call), from),
                                                             first_index);
  };
}

snapshots::SnapshotStats PageOpener::snapshot_stats() const {
  return store_ == nullptr ? snapshots::SnapshotStats{} : store_->stats();
}

}  // namespace pcusage
