// Shared snapshots for a fleet of replicas: the in-process SnapshotStore (its readers, pace, joins, byte bound and
// resumes, unchanged) whose walks are coordinated through Redis, so that one replica walks Partner Center for an
// identity and the others serve the snapshot it publishes.
//
// A call that the in-process store cannot serve from a snapshot it holds asks Redis, in this order:
//   1. a complete snapshot of the identity young enough for the call → its pages are served, no Partner Center;
//   2. the identity's walk lock (SET NX PX, valued with a fencing token from INCR, its counter expiring snapshot_ttl +
//      lock_ttl after the last walk's start, the walk's start time and a random walk id) → this replica walks,
//      renews the lock every lock_ttl / 3 while it does, appends each page as it lands to the walk's own live stream
//      (XADD, expiring lock_ttl after its last entry) and then how the walk ended (its page count, when complete),
//      appending nothing more once a renewal finds the lock gone, and at the end
//      publishes the snapshot (encoded as snapshot_codec.h says, TTL: what is left of `snapshot_ttl` since the walk
//      started) and releases the lock in one script that does both only while the lock still holds its token (a
//      walker whose lock expired and was taken over writes nothing);
//   3. the lock is held by another replica whose walk started recently enough → the call's snapshot follows that
//      walk live (XREAD BLOCK, poll_interval at a time): its callers receive each page as it lands, and the end
//      when the walk is complete and every page of it was received. A walk that cannot be followed to its end (it
//      failed, stopped appending, its walker died and its lock expired, Redis failed, nothing came for max_wait
//      though its lock is held: stalled) is,
//      before any page was passed on, what waiting for it was: its published snapshot served, or the lock taken over
//      once it goes away and the walk done here, or a walk of this replica's own. After pages were passed on, the rest
//      comes from the walk's published snapshot, or else from this replica walking on from the next page of the last
//      one passed on (the call's ReaderContext::continue_walk); without one the call ends UNAVAILABLE
//      (SHARED_WALK_INTERRUPTED), its pages carrying Partner Center positions, so that its callers resume exactly with
//      their last tokens.
// A snapshot larger than max_snapshot_bytes is not published; a marker says so, and replicas then walk on their own.
//
// A published snapshot carries the id its walking replica gave it, and every replica serving it from Redis gives
// it that id too, so a resume token naming it continues inside it on any replica: from the replica's own copy, or
// else from Redis while Redis still holds exactly that snapshot (not a newer one of the identity). A call that
// followed another replica's walk was named before that walk ended: the following replica, once the walk is
// complete, writes an alias from its name to the published snapshot's id (expiring with it), so those tokens
// continue anywhere too.
//
// Redis never fails a call that can walk on: an error, a timeout or a value that does not decode makes the
// call's snapshot a walk of this replica's own (the in-process store alone), logged at most every 10 s and counted
// (pcusage_snapshot_redis_total{event="unavailable"}); after a failure Redis is not asked again for
// retry_after_failure. Keys hold no token: `key_prefix` + "snapshot:" / "walk:" / "fence:" + the SHA-256 of the
// identity (itself a hash for passthrough tokens), "alias:" + that hash + ":" + a snapshot id, and "live:" + that
// hash + ":" + a walk's lock value.
#ifndef PCUSAGE_SERVER_SNAPSHOTS_REDIS_SNAPSHOT_STORE_H_
#define PCUSAGE_SERVER_SNAPSHOTS_REDIS_SNAPSHOT_STORE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "server/snapshots/redis_client.h"
#include "server/snapshots/snapshot_store.h"

namespace pcusage::snapshots {

struct RedisStoreOptions {
  // Prefixes every key. Replicas share snapshots only when they share it; deployments for different partners with
  // server-held credentials must not (their identities are the same).
  std::string key_prefix = "pcusage:";
  // How long a published snapshot lives from its walk's start: the server's --snapshot_max_staleness.
  absl::Duration snapshot_ttl = absl::Minutes(5);
  // The largest snapshot published (encoded bytes); a larger walk serves its own replica only.
  std::size_t max_snapshot_bytes = std::size_t{64} << 20;
  // A walk's lock lives this long unless renewed (every third of it): how long replicas wait after its walker dies.
  absl::Duration lock_ttl = absl::Seconds(10);
  absl::Duration poll_interval = absl::Milliseconds(100);
  // The longest a replica waits for another's walk to make progress (a page, its end) before giving up on it, the
  // walk's lock still held or not (its walker stuck, or held back by a caller of its own that stopped reading): the
  // server's --redis_stall_timeout. It then walks itself, on from the next page when it passed pages on.
  absl::Duration max_wait = absl::Minutes(5);
  absl::Duration retry_after_failure = absl::Seconds(5);
};

class RedisSnapshotStore final : public Snapshots {
 public:
  RedisSnapshotStore(std::shared_ptr<RedisClient> redis, RedisStoreOptions redis_options, SnapshotOptions options,
                     const std::function<absl::Time()>& now = nullptr);
  ~RedisSnapshotStore() override;

  OpenedSnapshot Open(const std::string& identity, absl::Duration max_staleness, StartWalk start_walk,
                      ReaderContext context) override;
  // Inside the snapshot `snapshot_id` of `identity`: this replica's copy, or else the one Redis holds when it is
  // exactly that snapshot; nullopt otherwise (Redis failing included: the caller falls back to Partner Center).
  std::optional<OpenedSnapshot> Resume(const std::string& identity, const std::string& snapshot_id, int64_t page_index,
                                       ReaderContext context) override;
  SnapshotStats stats() const override { return local_.stats(); }

  // Shared with the walks this store starts (which may outlive a call): Redis, the options, the failure state.
  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
  SnapshotStore local_;  // destroyed first: its walks use shared_
};

}  // namespace pcusage::snapshots

#endif  // PCUSAGE_SERVER_SNAPSHOTS_REDIS_SNAPSHOT_STORE_H_
