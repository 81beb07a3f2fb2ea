// Shared snapshots: one walk of Partner Center serves every caller of the same identity who asks for the list while
// it runs or soon after. A snapshot is the translated pages of one walk, with the time the walk started; readers
// read it from the first page at their own pace, each with an index of its own, so a slow or stuck reader never
// slows the walk or another reader. Partner Center throttles per partner tenant: this is how pcusage asks it once.
#ifndef PCUSAGE_SERVER_SNAPSHOTS_SNAPSHOT_STORE_H_
#define PCUSAGE_SERVER_SNAPSHOTS_SNAPSHOT_STORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/partner_center/page_source.h"

namespace pcusage::snapshots {

// Whose list a snapshot is. Never a claim read from a token: the server's own credentials are one identity; a
// caller's bearer token (passthrough) is named by the SHA-256 of the token itself, so a forged token can only name
// itself. Identities are never logged.
std::string ServerCredentialsIdentity();
std::string BearerTokenIdentity(absl::string_view token);

struct SnapshotOptions {
  // The most the pages of all snapshots together may take, walks in flight and complete ones alike. A page that
  // would pass it first drops complete snapshots, least recently used first; if that is not enough, the walk
  // adding it will not be kept, drops the pages all its readers have passed, lets go of its slowest readers
  // (UNAVAILABLE, SNAPSHOT_READER_TOO_SLOW) until those left read the same page, and then runs at most a page
  // ahead of them. So the pages held stay within this bound plus two pages per walk in flight, and a reader is
  // only ever let go for one that reads faster.
  std::size_t cache_bytes = std::size_t{256} << 20;
};

// Continues a walk of Partner Center from `from`, a page another walk named as its next, numbering its pages on
// from `first_index`; `walk_started` is when that other walk started (the continuation is the same walk: its
// deadline counts from there). Called on the walk's own thread.
using ContinueWalk = std::function<absl::StatusOr<std::unique_ptr<partner_center::PageSource>>(
    const partner_center::PagePosition& from, int64_t first_index, absl::Time walk_started)>;

// The call a reader reads for: a reader waiting for the walk ends with CANCELLED soon after `is_cancelled` turns
// true, and with DEADLINE_EXCEEDED at `deadline`.
struct ReaderContext {
  std::function<bool()> is_cancelled;  // may be empty
  absl::Time deadline = absl::InfiniteFuture();
  // How the call's identity would walk on from a page, for a store whose new snapshot follows another process's walk
  // and loses it midway (redis_snapshot_store.h). May be empty: such a snapshot then ends UNAVAILABLE instead.
  ContinueWalk continue_walk;
};

// How often a reader waiting for the walk looks at its call.
inline constexpr absl::Duration kReaderPollInterval = absl::Milliseconds(50);

// A new snapshot's id, fresh from NewSnapshotId() when empty, and the time its walk started, now when unset. A
// store shared between replicas settles both, so that every replica calls one walk's snapshot alike.
struct SnapshotName {
  std::string id;
  std::optional<absl::Time> started;
};

// 96 random bits in hex: unique to one walk's snapshot, fleet-wide.
std::string NewSnapshotId();

// A caller's view of a snapshot.
struct OpenedSnapshot {
  std::unique_ptr<partner_center::PageSource> pages;
  std::string snapshot_id;
  absl::Time snapshot_time;  // when its walk started
  bool shared = false;       // the walk was started by another call
};

class Snapshot;
struct ByteBudget;

// Starts a walk of Partner Center for a new snapshot; called on the walk's own thread. An error fails the walk
// (and every reader) like an error of the walk itself.
using StartWalk = std::function<absl::StatusOr<std::unique_ptr<partner_center::PageSource>>()>;

// A store's counters.
struct SnapshotStats {
  int64_t walks = 0;           // walks started
  int64_t hits = 0;            // calls served by a complete snapshot
  int64_t joins = 0;           // calls that joined a walk in flight
  int64_t resumes = 0;         // calls resumed inside a held snapshot
  int kept = 0;                // complete snapshots held for later calls
  std::size_t kept_bytes = 0;  // what their pages take
  std::size_t held_bytes = 0;  // what the pages of every snapshot take, in flight or complete
  int walks_in_flight = 0;
};

// Where the page opener gets shared snapshots: the in-process SnapshotStore below, or one that also shares them
// between replicas (redis_snapshot_store.h). Both keep the semantics documented here and in docs/api.md.
class Snapshots {
 public:
  virtual ~Snapshots() = default;

  // A reader, from its first page, of the newest snapshot of `identity` whose walk started no more than
  // `max_staleness` ago (a walk still in flight, or one complete), or else of a new walk `start_walk` begins on a
  // thread of its own. A zero `max_staleness` always starts a new walk (which later calls may join). A walk runs
  // while it has readers: when the last one leaves, it stops and is not kept.
  virtual OpenedSnapshot Open(const std::string& identity, absl::Duration max_staleness, StartWalk start_walk,
                              ReaderContext context) = 0;

  // A reader of the snapshot `snapshot_id` from its page `page_index`, when the store still holds that page for
  // `identity`; nullopt otherwise (then the caller resumes from Partner Center).
  virtual std::optional<OpenedSnapshot> Resume(const std::string& identity, const std::string& snapshot_id,
                                               int64_t page_index, ReaderContext context) = 0;

  virtual SnapshotStats stats() const = 0;
};

// The snapshots of one process.
class SnapshotStore final : public Snapshots {
 public:
  using StartWalk = snapshots::StartWalk;
  using Stats = SnapshotStats;

  explicit SnapshotStore(SnapshotOptions options, std::function<absl::Time()> now = nullptr);
  // Cancels the walks in flight and waits for them. Readers must be gone first.
  ~SnapshotStore() override;
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  OpenedSnapshot Open(const std::string& identity, absl::Duration max_staleness, StartWalk start_walk,
                      ReaderContext context) override {
    return Open(identity, max_staleness, std::move(start_walk), std::move(context), SnapshotName{});
  }
  OpenedSnapshot Open(const std::string& identity, absl::Duration max_staleness, StartWalk start_walk) {
    return Open(identity, max_staleness, std::move(start_walk), ReaderContext{});
  }
  // As above; a new snapshot is named `name` (its walk may have begun earlier, elsewhere: another replica's
  // snapshot read from Redis).
  OpenedSnapshot Open(const std::string& identity, absl::Duration max_staleness, StartWalk start_walk,
                      ReaderContext context, SnapshotName name);

  // Whether Open(identity, max_staleness, ...) would now read a snapshot this store holds rather than start a walk.
  bool HasJoinable(const std::string& identity, absl::Duration max_staleness) const;

  std::optional<OpenedSnapshot> Resume(const std::string& identity, const std::string& snapshot_id, int64_t page_index,
                                       ReaderContext context) override;
  std::optional<OpenedSnapshot> Resume(const std::string& identity, const std::string& snapshot_id,
                                       int64_t page_index) {
    return Resume(identity, snapshot_id, page_index, ReaderContext{});
  }

  // A reader from page `page_index` of a complete snapshot of `identity` this store does not hold (another
  // replica's, read from Redis), whose pages `pages` yields from the first. Held like the store's own snapshots
  // while read (the byte bound; pages dropped as its readers pass them), and found by Resume(name.id) meanwhile,
  // but never served to a call from the first record. `page_index` is one of its pages, or its end.
  OpenedSnapshot ResumeElsewhere(const std::string& identity, SnapshotName name, StartWalk pages, int64_t page_index,
                                 ReaderContext context);

  Stats stats() const override;

 private:
  friend class Snapshot;
  struct Walker {
    std::thread thread;
    std::shared_ptr<Snapshot> snapshot;
    std::shared_ptr<std::atomic<bool>> finished;  // set as the thread's last act
  };

  // A new snapshot of `identity` (by id only; Open also makes it the identity's newest) with a reader at
  // `page_index`, and its walk started.
  std::pair<std::shared_ptr<Snapshot>, int> StartLocked(const std::string& identity, SnapshotName name,
                                                        StartWalk start_walk, int64_t page_index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Called by a walk before it adds a page of `bytes`: drops complete snapshots until it fits, if it can.
  void MakeRoom(std::size_t bytes);
  // Called by a walk when it ends: keeps its snapshot for later calls, or forgets it.
  void WalkEnded(const std::shared_ptr<Snapshot>& snapshot);
  // Stops keeping `snapshot` for later calls (its readers read on).
  void DropLocked(const std::shared_ptr<Snapshot>& snapshot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReapWalkersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SnapshotOptions options_;
  const std::function<absl::Time()> now_;
  const std::shared_ptr<ByteBudget> budget_;
  mutable absl::Mutex mu_;
  // The newest snapshot of each identity (in flight, or complete and kept): the one new calls may read.
  std::map<std::string, std::shared_ptr<Snapshot>> by_identity_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::weak_ptr<Snapshot>> by_id_ ABSL_GUARDED_BY(mu_);
  std::list<std::shared_ptr<Snapshot>> completed_ ABSL_GUARDED_BY(mu_);  // kept, most recently used first
  std::list<Walker> walkers_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pcusage::snapshots

#endif  // PCUSAGE_SERVER_SNAPSHOTS_SNAPSHOT_STORE_H_
