// Where a ListUsageRecords call's pages come from: a walk of Partner Center of the call's own, or a shared snapshot
// (server/snapshots/) that one walk fills for every call of the same identity. The service asks once per call and
// pulls from what it gets; which one it was is the StreamOrigin its first message and resume tokens carry.
// Knows nothing of gRPC.
#ifndef PCUSAGE_SERVER_PAGE_OPENER_H_
#define PCUSAGE_SERVER_PAGE_OPENER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/partner_center/page_source.h"
#include "server/partner_center/usage_client.h"
#include "server/resume_token.h"
#include "server/snapshots/redis_client.h"
#include "server/snapshots/redis_snapshot_store.h"
#include "server/snapshots/snapshot_store.h"
#include "server/tokens/access_token_source.h"

namespace pcusage {

struct PageOpenerOptions {
  // How old a snapshot may be for a call that does not say (ListUsageRecordsRequest.max_staleness unset). Zero
  // turns sharing off: every call walks Partner Center on its own, whatever it asks.
  absl::Duration snapshot_max_staleness = absl::ZeroDuration();
  snapshots::SnapshotOptions snapshots;
  // With a Redis client, snapshots are shared with the replicas that share that Redis (redis_snapshot_store.h);
  // without, they are this process's own.
  std::shared_ptr<snapshots::RedisClient> redis;
  snapshots::RedisStoreOptions redis_store;
  // A shared walk belongs to no call, so it gets a deadline of its own: this long after it starts.
  absl::Duration max_walk_duration = absl::Hours(1);
  // A walk of the call's own fetches the next page while the current one is written (PrefetchedPages).
  bool prefetch_pages = true;
};

// What the service settled about a call before its pages are opened.
struct PagesRequest {
  std::optional<std::string> caller_authorization;  // the caller's `authorization` metadata
  std::string correlation_id;                       // MS-CorrelationId (of the walk, when the call starts one)
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> is_cancelled;  // may be empty
  StreamPosition start;
  std::optional<absl::Duration> max_staleness;  // the request's, not negative; unset: the server's default
};

struct CallPages {
  std::unique_ptr<partner_center::PageSource> pages;
  StreamOrigin origin;
};

class PageOpener {
 public:
  PageOpener(std::shared_ptr<const partner_center::UsageClient> client,
             std::shared_ptr<tokens::AccessTokenSource> token_source, PageOpenerOptions options);
  ~PageOpener();
  PageOpener(const PageOpener&) = delete;
  PageOpener& operator=(const PageOpener&) = delete;

  // The call's pages from `request.start` on. With sharing on: a call from the first page reads the newest snapshot
  // of its identity that is young enough (joining its walk if it is still in flight) or starts one; a resumed call
  // continues inside the snapshot its token names while that is held, and otherwise walks on its own from the
  // token's Partner Center page. Errors are those of the token source (UNAUTHENTICATED for a passthrough call
  // without a bearer token, say); Partner Center's come from the pages.
  absl::StatusOr<CallPages> Open(const PagesRequest& request);

  bool sharing() const { return store_ != nullptr; }
  // The snapshot store's counters; zeros when sharing is off.
  snapshots::SnapshotStats snapshot_stats() const;

 private:
  absl::StatusOr<CallPages> OpenOwnWalk(const PagesRequest& request, std::optional<std::string> token) const;
  // `identity` names whose snapshot it is; `caller_token` is the passthrough caller's token (nullopt with
  // server-held credentials, fetched by the walk itself).
  CallPages OpenSnapshot(const PagesRequest& request, const std::string& identity,
                         std::optional<std::string> caller_token);
  snapshots::StartWalk WalkStarter(std::optional<std::string> caller_token, std::string correlation_id) const;
  // The same walk's way on from a page another walk named as next (a follower of another replica's walk that lost
  // it), its pages numbered on from the given index, its deadline counted from that walk's start.
  snapshots::ContinueWalk WalkContinuer(std::optional<std::string> caller_token, std::string correlation_id) const;
  // The call a shared walk started at `started` makes: the caller's token (passthrough) or the server's, bounded by
  // max_walk_duration from `started`.
  absl::StatusOr<partner_center::ListCall> WalkCall(const std::optional<std::string>& caller_token,
                                                    const std::string& correlation_id, absl::Time started) const;

  const std::shared_ptr<const partner_center::UsageClient> client_;
  const std::shared_ptr<tokens::AccessTokenSource> token_source_;
  const PageOpenerOptions options_;
  // Null when sharing is off. Its walks use client_ and token_source_, so it is destroyed first.
  std::unique_ptr<snapshots::Snapshots> store_;
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_PAGE_OPENER_H_
