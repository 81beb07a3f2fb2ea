#include "server/snapshots/redis_snapshot_store.h"

#include <openssl/evp.h>

#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/metrics/pcusage_metrics.h"
#include "server/snapshots/snapshot_codec.h"

namespace pcusage::snapshots {

using metrics::SnapshotRedisEvent;
using partner_center::FetchedPage;
using partner_center::PageSource;

constexpr absl::Duration kLogEvery = absl::Seconds(10);
// More than a snapshot's encoded header takes (snapshot_codec.h): what a resume reads before fetching the snapshot.
constexpr std::size_t kSnapshotHeaderPeekBytes = 512;
// Live pages read from another replica's stream at once (and held at most).
constexpr int kLiveEntriesPerRead = 4;
// The reason of a call ended because the walk it followed live cannot be followed to its end.
constexpr char kSharedWalkInterrupted[] = "SHARED_WALK_INTERRUPTED";

namespace {
// What the snapshot key held when fetched: its header and decoded pages (none for a too-large marker).
struct Fetched {
  std::optional<EncodedSnapshotHeader> header;  // nullopt: no value
  std::shared_ptr<const std::vector<FetchedPage>> pages;
};

}  // namespace

struct RedisSnapshotStore::Shared {
  Shared(std::shared_ptr<RedisClient> redis, RedisStoreOptions options, std::function<absl::Time()> now)
      : redis(std::move(redis)), options(std::move(options)), now(std::move(now)) {}

  // Whether Redis is worth asking (no failure within retry_after_failure).
  bool Usable() {
    absl::MutexLock lock(&mu);
    return now() >= skip_until;
  }

  // Redis failed (`status`) while doing `what`: not asked again for a while; logged at most every kLogEvery.
  void Failed(const absl::Status& status, absl::string_view what) {
    metrics::SnapshotRedis(SnapshotRedisEvent::kUnavailable);
    int64_t suppressed = 0;
    {
      absl::MutexLock lock(&mu);
      const absl::Time at = now();
      skip_until = at + options.retry_after_failure;
      if (at < next_log) {
        ++unlogged;
        return;
      }
      next_log = at + kLogEvery;
      suppressed = unlogged;
      unlogged = 0;
    }
    LogEvent(LogLevel::kWarning, "the Redis snapshot store failed; serving from this replica's own snapshots",
             {{"during", what},
              {"code", absl::StatusCodeToString(status.code())},
              {"error", status.message()},
              {"failures_not_logged", suppressed}});
  }

  // A fetch of a snapshot key in flight (Fetch): the calls that asked for it meanwhile wait for its result.
  struct Flight {
    absl::Notification done;
    absl::StatusOr<Fetched> result;
  };

  const std::shared_ptr<RedisClient> redis;
  const RedisStoreOptions options;
  const std::function<absl::Time()> now;
  absl::Mutex flights_mu;
  std::map<std::string, std::shared_ptr<Flight>> flights ABSL_GUARDED_BY(flights_mu);
  absl::Mutex mu;
  absl::Time skip_until ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  absl::Time next_log ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  int64_t unlogged ABSL_GUARDED_BY(mu) = 0;
};

namespace {

using Shared = RedisSnapshotStore::Shared;

struct Keys {
  std::string snapshot;
  std::string lock;
  std::string fence;
  // Followed by a snapshot id: the id of the published snapshot a waiting replica served under that name.
  std::string alias_prefix;
  // Followed by a walk's lock value: the stream of that walk's pages as they land.
  std::string live_prefix;
};

Keys KeysOf(const std::string& prefix, const std::string& identity) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(identity.data(), identity.size(), digest, &size, EVP_sha256(), nullptr);
  const std::string hash = absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
  return Keys{absl::StrCat(prefix, "snapshot:", hash), absl::StrCat(prefix, "walk:", hash),
              absl::StrCat(prefix, "fence:", hash), absl::StrCat(prefix, "alias:", hash, ":"),
              absl::StrCat(prefix, "live:", hash, ":")};
}

// The live stream of the walk holding a lock valued `lock_value` ("<fencing token>:<unix nanos>:<random walk id>"):
// the whole value names it, so that no two walks share a stream even when Redis, restarted or evicting, hands out a
// fencing token again. (A walker of an older version, whose lock value is "<fencing token>:<unix nanos>", appends
// to another key: its followers here see no entry, and wait for its snapshot as for a walk they cannot follow.)
std::string LiveKey(const Keys& keys, absl::string_view lock_value) {
  return absl::StrCat(keys.live_prefix, lock_value);
}

// The start time a lock's value ("<fencing token>:<unix nanos>[:<walk id>]") names; nullopt when it names none.
std::optional<absl::Time> LockStarted(const std::string& value) {
  const std::size_t colon = value.find(':');
  int64_t nanos = 0;
  if (colon == std::string::npos) return std::nullopt;
  absl::string_view started = absl::string_view(value).substr(colon + 1);
  started = started.substr(0, started.find(':'));
  if (!absl::SimpleAtoi(started, &nanos)) return std::nullopt;
  return absl::FromUnixNanos(nanos);
}

// A walk lock this replica holds: renewed on a thread of its own until the walk publishes or releases it, and
// released when dropped unused.
class WalkLock {
 public:
  WalkLock(std::shared_ptr<Shared> shared, Keys keys, std::string value, absl::Time started)
      : shared_(std::move(shared)), keys_(std::move(keys)), value_(std::move(value)), started_(started) {
    renewer_ = std::thread([this] { Renew(); });
  }
  ~WalkLock() { Release(); }
  WalkLock(const WalkLock&) = delete;
  WalkLock& operator=(const WalkLock&) = delete;

  absl::Time started() const { return started_; }
  std::string live_key() const { return LiveKey(keys_, value_); }
  // Whether a renewal found the lock no longer this replica's (expired, maybe another's): its walk then appends
  // and publishes nothing more.
  bool lost() const { return lost_.load(); }

  // Publishes `encoded` for `ttl` and releases the lock, while the lock is still this replica's.
  void Publish(const std::string& encoded, absl::Duration ttl) {
    StopRenewing();
    if (std::exchange(released_, true)) return;
    if (lost()) {
      LogEvent(LogLevel::kWarning,
               "a shared walk's Redis lock expired before it ended; its snapshot was not published");
      return;
    }
    absl::StatusOr<bool> published =
        shared_->redis->SetAndReleaseIfHolds(keys_.lock, value_, keys_.snapshot, encoded, ttl);
    if (!published.ok()) {
      shared_->Failed(published.status(), "publishing a snapshot");
    } else if (*published) {
      metrics::SnapshotRedis(SnapshotRedisEvent::kPublished);
    } else {
      LogEvent(LogLevel::kWarning,
               "a shared walk's Redis lock expired before it ended; its snapshot was not published");
    }
  }

  void Release() {
    StopRenewing();
    if (std::exchange(released_, true)) return;
    absl::StatusOr<bool> released = shared_->redis->DeleteIfHolds(keys_.lock, value_);
    if (!released.ok()) shared_->Failed(released.status(), "releasing a walk lock");
  }

 private:
  void Renew() {
    const absl::Duration every = shared_->options.lock_ttl / 3;
    while (!stop_.WaitForNotificationWithTimeout(every)) {
      absl::StatusOr<bool> renewed = shared_->redis->ExpireIfHolds(keys_.lock, value_, shared_->options.lock_ttl);
      if (!renewed.ok()) shared_->Failed(renewed.status(), "renewing a walk lock");
      if (renewed.ok() && !*renewed) {  // expired and maybe another's
        lost_.store(true);
        return;
      }
    }
  }
  void StopRenewing() {
    if (!stop_.HasBeenNotified()) stop_.Notify();
    if (renewer_.joinable()) renewer_.join();
  }

  const std::shared_ptr<Shared> shared_;
  const Keys keys_;
  const std::string value_;
  const absl::Time started_;
  absl::Notification stop_;
  std::thread renewer_;
  std::atomic<bool> lost_{false};
  bool released_ = false;  // touched by the walk's thread only (or the last owner's)
};

// Takes the identity's walk lock: the lock, or null when another replica holds it.
absl::StatusOr<std::shared_ptr<WalkLock>> TryLock(const std::shared_ptr<Shared>& shared, const Keys& keys) {
  // The counter expires, as every key does: a walk's stream and lock are told apart by the lock value's walk id, so
  // a counter that starts again at 1 costs nothing.
  absl::StatusOr<int64_t> fence =
      shared->redis->IncrementAndExpire(keys.fence, shared->options.snapshot_ttl + shared->options.lock_ttl);
  if (!fence.ok()) return fence.status();
  const absl::Time started = shared->now();
  std::string value = absl::StrCat(*fence, ":", absl::ToUnixNanos(started), ":", NewSnapshotId());
  absl::StatusOr<bool> taken = shared->redis->SetIfAbsent(keys.lock, value, shared->options.lock_ttl);
  if (!taken.ok()) return taken.status();
  if (!*taken) return nullptr;
  return std::make_shared<WalkLock>(shared, keys, std::move(value), started);
}

absl::Status Cancelled() { return WithErrorInfo(absl::CancelledError("the call was cancelled"), reason::kCancelled); }

// The snapshot of an identity a call asks Redis for: any whose walk started no earlier than `not_before`, or, to
// resume in, exactly the one `snapshot_id` names.
struct Wanted {
  absl::Time not_before = absl::InfinitePast();
  std::string snapshot_id;  // empty: any
};

// What Redis holds for an identity that the call wants: a snapshot's pages, or the marker of one too large to
// share, or nothing. A value that does not decode is DATA_LOSS.
struct Found {
  // Decoded once per fetch and shared by every call of this replica that fetched it at once (null: none).
  std::shared_ptr<const std::vector<FetchedPage>> pages;
  bool too_large = false;
  SnapshotName name;
};

// One GET of the snapshot key and its decoding; the raw value is dropped once decoded.
absl::StatusOr<Fetched> FetchNow(RedisClient& redis, const std::string& key) {
  absl::StatusOr<std::optional<std::string>> value = redis.Get(key);
  if (!value.ok()) return value.status();
  Fetched fetched;
  if (!value->has_value()) return fetched;
  absl::StatusOr<EncodedSnapshotHeader> header = DecodeSnapshotHeader(**value);
  if (!header.ok()) return header.status();
  if (!header->too_large) {
    absl::StatusOr<std::vector<FetchedPage>> pages = DecodeSnapshotPages(**value);
    if (!pages.ok()) return pages.status();
    fetched.pages = std::make_shared<const std::vector<FetchedPage>>(*std::move(pages));
  }
  fetched.header = *std::move(header);
  return fetched;
}

// The snapshot key fetched once for every call of this replica that asks while a fetch of it is in flight (single
// flight): what one fetch takes beside the cache (the raw value until decoded, then one decoded copy until the
// pages are in the cache) is taken once per snapshot, not once per call.
absl::StatusOr<Fetched> Fetch(Shared& shared, const std::string& key) {
  std::shared_ptr<Shared::Flight> flight;
  bool leads = false;
  {
    absl::MutexLock lock(&shared.flights_mu);
    std::shared_ptr<Shared::Flight>& in_flight = shared.flights[key];
    if (in_flight == nullptr) {
      in_flight = std::make_shared<Shared::Flight>();
      leads = true;
    }
    flight = in_flight;
  }
  if (!leads) {
    flight->done.WaitForNotification();
    return flight->result;
  }
  flight->result = FetchNow(*shared.redis, key);
  {
    absl::MutexLock lock(&shared.flights_mu);
    shared.flights.erase(key);
  }
  flight->done.Notify();
  return flight->result;
}

absl::StatusOr<Found> FindSnapshot(Shared& shared, const std::string& key, const Wanted& wanted) {
  absl::StatusOr<Fetched> fetched = Fetch(shared, key);
  if (!fetched.ok()) return fetched.status();
  Found found;
  if (!fetched->header.has_value()) return found;
  const EncodedSnapshotHeader& header = *fetched->header;
  if (header.started < wanted.not_before) return found;
  if (!wanted.snapshot_id.empty() && header.snapshot_id != wanted.snapshot_id) return found;
  found.name = SnapshotName{header.snapshot_id, header.started};
  found.too_large = header.too_large;
  found.pages = fetched->pages;
  return found;
}

// The pages of a snapshot read from Redis from `first` on, each copied out of the decoded snapshot (which other
// calls may share) as it is read.
class HeldPages final : public PageSource {
 public:
  explicit HeldPages(std::shared_ptr<const std::vector<FetchedPage>> pages, std::size_t first = 0)
      : pages_(std::move(pages)), next_(first) {}
  absl::StatusOr<std::optional<FetchedPage>> Next() override {
    if (cancelled_.load()) return Cancelled();
    if (pages_ == nullptr || next_ >= pages_->size()) {
      pages_.reset();
      return std::nullopt;
    }
    return std::optional<FetchedPage>((*pages_)[next_++]);
  }
  void Cancel() override { cancelled_.store(true); }
  bool NextIsReady() override { return true; }

 private:
  std::shared_ptr<const std::vector<FetchedPage>> pages_;
  std::size_t next_;
  std::atomic<bool> cancelled_{false};
};

// The pages of a snapshot read from Redis from `first` on, counted as served.
std::unique_ptr<PageSource> Served(std::shared_ptr<const std::vector<FetchedPage>> pages, std::size_t first = 0) {
  metrics::SnapshotRedis(SnapshotRedisEvent::kServed);
  return std::make_unique<HeldPages>(std::move(pages), first);
}

// The same, as the walk of this replica's snapshot of them.
StartWalk ServedWalk(std::shared_ptr<const std::vector<FetchedPage>> pages) {
  auto served = std::make_shared<std::unique_ptr<PageSource>>(Served(std::move(pages)));
  return [served]() -> absl::StatusOr<std::unique_ptr<PageSource>> { return std::move(*served); };
}

// This replica's walk while it holds the lock: passes every page on, encodes it, appends it to the walk's live
// stream for other replicas' callers, and publishes the snapshot at the end (a too-large marker when it passed the
// bound), named `snapshot_id` as this replica names it. The stream ends with how the walk ended, or stops (a
// "stopped" entry, and no page after) when the snapshot passes the bound or an append fails.
class PublishingPages final : public PageSource {
 public:
  PublishingPages(std::shared_ptr<Shared> shared, std::unique_ptr<PageSource> walk, std::shared_ptr<WalkLock> lock,
                  std::string snapshot_id)
      : shared_(std::move(shared)),
        walk_(std::move(walk)),
        lock_(std::move(lock)),
        snapshot_id_(std::move(snapshot_id)),
        live_key_(lock_->live_key()),
        encoder_(snapshot_id_, lock_->started()) {}

  absl::StatusOr<std::optional<FetchedPage>> Next() override {
    absl::StatusOr<std::optional<FetchedPage>> page = walk_->Next();
    if (!page.ok()) {
      std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(page.status());
      Append(EncodeLiveFailed(page.status().code(), info.has_value() ? info->reason() : ""));
      lock_->Release();
      return page;
    }
    if (!page->has_value()) {
      Append(EncodeLiveEnd(snapshot_id_, pages_));
      Publish();
      return page;
    }
    ++pages_;
    if (!too_large_) {
      const absl::string_view encoded = encoder_.Add(**page);
      // The whole value, header included, within the bound: what every replica reads back (max_reply_bytes).
      if (encoder_.encoded_size() > shared_->options.max_snapshot_bytes) {
        too_large_ = true;
        encoder_ = SnapshotEncoder(snapshot_id_, lock_->started());
        Append(EncodeLiveStopped());
        live_stopped_ = true;
      } else {
        Append(EncodeLivePage(encoded));
      }
    }
    return page;
  }
  void Cancel() override { walk_->Cancel(); }
  bool NextIsReady() override { return walk_->NextIsReady(); }

 private:
  // Appends `entry` to the live stream, unless it stopped; a failure stops it (a last "stopped" entry is tried), and
  // so does the lock's loss (nothing more is appended: the walk is no longer the one its followers follow).
  void Append(const std::string& entry) {
    if (lock_->lost()) live_stopped_ = true;
    if (live_stopped_) return;
    absl::Status appended = shared_->redis->StreamAppend(live_key_, entry, shared_->options.lock_ttl);
    if (appended.ok()) return;
    live_stopped_ = true;
    shared_->Failed(appended, "appending a page for other replicas");
    (void)shared_->redis->StreamAppend(live_key_, EncodeLiveStopped(), shared_->options.lock_ttl);
  }

  void Publish() {
    const absl::Duration ttl = shared_->options.snapshot_ttl - (shared_->now() - lock_->started());
    if (ttl < absl::Milliseconds(1)) {
      lock_->Release();
      return;
    }
    lock_->Publish(too_large_ ? EncodeTooLarge(snapshot_id_, lock_->started()) : encoder_.Encoded(), ttl);
  }

  const std::shared_ptr<Shared> shared_;
  const std::unique_ptr<PageSource> walk_;
  const std::shared_ptr<WalkLock> lock_;
  const std::string snapshot_id_;
  const std::string live_key_;
  SnapshotEncoder encoder_;
  int64_t pages_ = 0;  // passed on so far
  bool too_large_ = false;
  bool live_stopped_ = false;
};

// The walk of a snapshot whose pages another replica is fetching: follows that walk's live stream, passing its pages
// on as they land, and ends with it. When it cannot follow the stream (it stopped, the walk failed, its walker died,
// a page is missing, Redis failed, nothing came for max_wait): before any page was passed on, it does what waiting
// for the snapshot did (serves the walk's published snapshot, takes over the lock and publishes its walk as
// `snapshot_id`, this replica's name for it, or walks on its own); after, it serves the rest of the very walk it
// followed once published, or else walks on itself from the next page of the last one passed on (Lost).
class WaitingPages final : public PageSource {
 public:
  WaitingPages(std::shared_ptr<Shared> shared, Keys keys, StartWalk start_walk, ContinueWalk continue_walk,
               absl::Time not_before, std::string snapshot_id)
      : shared_(std::move(shared)),
        keys_(std::move(keys)),
        start_walk_(std::move(start_walk)),
        continue_walk_(std::move(continue_walk)),
        not_before_(not_before),
        snapshot_id_(std::move(snapshot_id)),
        give_up_(shared_->now() + shared_->options.max_wait) {}

  absl::StatusOr<std::optional<FetchedPage>> Next() override {
    if (inner_ == nullptr) {
      absl::StatusOr<std::optional<FetchedPage>> followed = Follow();
      if (inner_ == nullptr) return followed;
    }
    return inner_->Next();
  }
  void Cancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!cancel_.HasBeenNotified()) cancel_.Notify();
    if (inner_ != nullptr) inner_->Cancel();
  }
  bool NextIsReady() override {
    absl::MutexLock lock(&mu_);
    if (inner_ != nullptr) return inner_->NextIsReady();
    return !landed_.empty() || ended_;
  }

 private:
  // The next page of the live walk, its end or an error; or else (inner_ set) the source that serves the call.
  absl::StatusOr<std::optional<FetchedPage>> Follow() {
    for (;;) {
      if (std::optional<FetchedPage> page = TakeLanded(); page.has_value()) {
        ++yielded_;
        last_next_ = page->next;
        return page;
      }
      if (done_.has_value()) break;
      if (finish_.has_value()) {
        if (finish_->ok()) {
          Alias(end_name_);
        } else if (absl::Status lost = Lost(*finish_); lost.ok()) {
          finish_.reset();
          return std::nullopt;
        } else {
          finish_ = std::move(lost);  // the walk-on's own error when walking on failed
        }
        Finish(*finish_);
        break;
      }
      if (cancel_.HasBeenNotified()) {
        Finish(Cancelled());
        break;
      }
      absl::Status step = following_ ? ReadLive() : Poll();
      if (!step.ok()) {
        Finish(step);
        break;
      }
      if (inner_ != nullptr) return std::nullopt;
    }
    if (!done_->ok()) return *done_;
    return std::nullopt;
  }

  // One look at Redis while following no stream: the published snapshot, or the lock (a walk to follow, or to take
  // over), or a wait of poll_interval.
  absl::Status Poll() {
    absl::StatusOr<Found> found = FindSnapshot(*shared_, keys_.snapshot, Wanted{not_before_, ""});
    if (!found.ok()) return Unfollowable(found.status(), "waiting for another replica's snapshot");
    if (found->pages != nullptr) return Serve(*std::move(found));
    if (found->too_large) return Unfollowable(absl::OkStatus(), "too_large");
    absl::StatusOr<std::optional<std::string>> holder = shared_->redis->Get(keys_.lock);
    if (!holder.ok()) return Unfollowable(holder.status(), "waiting for another replica's snapshot");
    if (!holder->has_value()) return TakeOver();
    if (**holder != followed_lock_) {
      if (yielded_ > 0) return Lost(Interrupted("walk_lost"));
      followed_lock_ = **holder;
      live_key_ = LiveKey(keys_, followed_lock_);
      after_id_ = "0";
      following_ = true;
      return absl::OkStatus();
    }
    if (shared_->now() >= give_up_) return Stalled();
    if (cancel_.WaitForNotificationWithTimeout(shared_->options.poll_interval)) return Cancelled();
    return absl::OkStatus();
  }

  // Reads the followed stream once (waiting at most poll_interval): its pages land, its last entry says how the walk
  // ended; a stream that cannot be followed further is left for Poll.
  absl::Status ReadLive() {
    absl::StatusOr<std::vector<StreamEntry>> entries = ReadEntries(shared_->options.poll_interval);
    if (!entries.ok()) return Unfollowable(entries.status(), "following another replica's walk");
    if (entries->empty()) {
      if (shared_->now() >= give_up_) return Stalled();
      absl::StatusOr<std::optional<std::string>> holder = shared_->redis->Get(keys_.lock);
      if (!holder.ok()) return Unfollowable(holder.status(), "following another replica's walk");
      if (*holder == followed_lock_) return absl::OkStatus();  // still walking
      // The walk ended or its walker died: what it appended last says which.
      entries = ReadEntries(absl::ZeroDuration());
      if (!entries.ok()) return Unfollowable(entries.status(), "following another replica's walk");
      if (entries->empty()) following_ = false;
    }
    for (const StreamEntry& stream_entry : *entries) {
      after_id_ = stream_entry.id;
      absl::StatusOr<LiveEntry> entry = DecodeLiveEntry(stream_entry.value);
      if (!entry.ok()) return Unfollowable(entry.status(), "following another replica's walk");
      if (!Take(*std::move(entry))) break;
    }
    return absl::OkStatus();
  }

  // The followed stream's next entries (waiting at most `block` for one): kLiveEntriesPerRead at most, or one when
  // that many passed Redis's reply bound together (each entry fits it: the walker bounds the whole snapshot).
  absl::StatusOr<std::vector<StreamEntry>> ReadEntries(absl::Duration block) {
    absl::StatusOr<std::vector<StreamEntry>> entries =
        shared_->redis->StreamRead(live_key_, after_id_, block, kLiveEntriesPerRead);
    if (absl::IsDataLoss(entries.status())) {
      entries = shared_->redis->StreamRead(live_key_, after_id_, absl::ZeroDuration(), 1);
    }
    return entries;
  }

  // Takes the next entry of the followed stream: a page lands, or the stream is left (following_ false) for Poll,
  // with how the walk ended when it says; whether the stream goes on.
  bool Take(LiveEntry entry) {
    const int64_t received = yielded_ + static_cast<int64_t>(LandedCount());
    switch (entry.kind) {
      case LiveEntry::Kind::kPage:
        // A page missing (the stream expired under a long page): the rest from the published snapshot.
        if (entry.page.index_in_walk != received) break;
        give_up_ = shared_->now() + shared_->options.max_wait;
        Land(std::move(entry.page));
        return true;
      case LiveEntry::Kind::kEnd:
        if (entry.pages != received) {
          // Not every page of the walk was received: the walk is lost (with nothing passed on, Poll serves its
          // snapshot or takes over).
          if (received > 0) finish_ = Interrupted("walk_lost");
          break;
        }
        end_name_ = SnapshotName{entry.snapshot_id, LockStarted(followed_lock_)};
        finish_ = absl::OkStatus();
        break;
      case LiveEntry::Kind::kFailed:
        // With nothing passed on, as before: the lock is released, and Poll takes it over.
        if (received > 0) finish_ = Interrupted("walk_failed", entry.code, entry.reason);
        break;
      case LiveEntry::Kind::kStopped:
        break;
    }
    following_ = false;
    return false;
  }

  // The walk followed made no progress for max_wait while its lock was held (its walker stuck, or held back by a
  // caller of its own that stopped reading): given up on, counted and logged, and walked here instead.
  absl::Status Stalled() {
    metrics::SnapshotRedis(SnapshotRedisEvent::kStalled);
    LogEvent(LogLevel::kWarning, "another replica's walk made no progress; this replica walks instead",
             {{"waited_ms", absl::ToInt64Milliseconds(shared_->options.max_wait)}, {"pages_followed", yielded_}});
    return Unfollowable(absl::OkStatus(), "no_progress");
  }

  // Serves the published snapshot `found`: all of it when nothing was passed on yet, else the rest of it when it is
  // the walk followed.
  absl::Status Serve(Found found) {
    if (yielded_ > 0 && (found.name.started != LockStarted(followed_lock_) ||
                         found.pages->size() < static_cast<std::size_t>(yielded_))) {
      return Lost(Interrupted("walk_lost"));
    }
    Alias(found.name);
    SetInner(Served(std::move(found.pages), static_cast<std::size_t>(yielded_)));
    return absl::OkStatus();
  }

  // The live walk cannot be followed (`failure`: Redis's, logged): a walk of this replica's own when nothing was
  // passed on yet, else what Lost decides.
  absl::Status Unfollowable(const absl::Status& failure, absl::string_view what) {
    if (!failure.ok()) shared_->Failed(failure, what);
    if (yielded_ > 0) return Lost(Interrupted(failure.ok() ? std::string(what) : "redis_unavailable"));
    absl::StatusOr<std::unique_ptr<PageSource>> walk = start_walk_();
    if (!walk.ok()) return walk.status();
    SetInner(*std::move(walk));
    return absl::OkStatus();
  }

  // A walk followed midway that cannot be followed to its end (`interrupted` says why): this replica walks on from
  // the page after the last one passed on, when the call says how (continue_walk_), so that its callers get every
  // record and Redis never fails a call; else `interrupted` ends the call, resumable with its last token. Before any
  // page was passed on it is `interrupted` as given (the callers above walk or take over instead).
  absl::Status Lost(absl::Status interrupted) {
    if (yielded_ == 0 || !continue_walk_) return interrupted;
    LogEvent(LogLevel::kWarning,
             "another replica's walk this replica was following was lost; walking on from its next page",
             {{"pages_followed", yielded_}, {"error", interrupted.message()}});
    if (!last_next_.has_value()) {  // the last page passed on was the walk's last: nothing is missing
      SetInner(std::make_unique<HeldPages>(nullptr));
      return absl::OkStatus();
    }
    absl::StatusOr<std::unique_ptr<PageSource>> walk =
        continue_walk_(*last_next_, yielded_, LockStarted(followed_lock_).value_or(shared_->now()));
    if (!walk.ok()) return walk.status();
    metrics::SnapshotRedis(SnapshotRedisEvent::kWalkedOn);
    SetInner(*std::move(walk));
    return absl::OkStatus();
  }

  // Why a walk followed midway cannot be followed to its end; the call's end (resumable with its last token) only
  // when it cannot walk on (Lost).
  static absl::Status Interrupted(const std::string& cause, absl::StatusCode walker_code = absl::StatusCode::kOk,
                                  const std::string& walker_reason = "") {
    std::map<std::string, std::string> metadata = {{"cause", cause}};
    if (walker_code != absl::StatusCode::kOk) metadata["walker_code"] = absl::StatusCodeToString(walker_code);
    if (!walker_reason.empty()) metadata["walker_reason"] = walker_reason;
    return WithErrorInfo(absl::UnavailableError(absl::StrCat("another replica's walk of this list, which this call "
                                                             "was following, ended before its last page (",
                                                             cause, "); resume with the last resume_token")),
                         kSharedWalkInterrupted, metadata);
  }

  // This replica serves the published snapshot `served` under its own name for it (given before that walk ended):
  // says so in Redis, for as long as the snapshot lives there, so that its callers' resume tokens continue inside
  // it on other replicas too. A failure only costs those tokens that.
  void Alias(const SnapshotName& served) {
    if (served.id == snapshot_id_ || !served.started.has_value()) return;
    const absl::Duration ttl = shared_->options.snapshot_ttl - (shared_->now() - *served.started);
    if (ttl < absl::Milliseconds(1)) return;
    absl::StatusOr<bool> set = shared_->redis->SetIfAbsent(keys_.alias_prefix + snapshot_id_, served.id, ttl);
    if (!set.ok()) shared_->Failed(set.status(), "naming a served snapshot");
  }

  // The lock went away without a snapshot (the walker failed, or died and its lock expired): this replica's walk
  // under the lock, or its own walk when Redis fails; nothing while another replica took the lock first.
  absl::Status TakeOver() {
    if (yielded_ > 0) return Lost(Interrupted("walk_lost"));
    absl::StatusOr<std::shared_ptr<WalkLock>> lock = TryLock(shared_, keys_);
    if (!lock.ok()) return Unfollowable(lock.status(), "taking over a walk lock");
    if (*lock == nullptr) return absl::OkStatus();
    metrics::SnapshotRedis(SnapshotRedisEvent::kWalked);
    absl::StatusOr<std::unique_ptr<PageSource>> walk = start_walk_();
    if (!walk.ok()) return walk.status();  // the lock is released as it goes
    SetInner(std::make_unique<PublishingPages>(shared_, *std::move(walk), *std::move(lock), snapshot_id_));
    return absl::OkStatus();
  }

  void SetInner(std::unique_ptr<PageSource> inner) {
    absl::MutexLock lock(&mu_);
    inner_ = std::move(inner);
    if (cancelled_) inner_->Cancel();
  }
  void Finish(absl::Status status) {
    done_ = std::move(status);
    absl::MutexLock lock(&mu_);
    ended_ = true;
  }
  void Land(FetchedPage page) {
    absl::MutexLock lock(&mu_);
    landed_.push_back(std::move(page));
  }
  std::size_t LandedCount() {
    absl::MutexLock lock(&mu_);
    return landed_.size();
  }
  std::optional<FetchedPage> TakeLanded() {
    absl::MutexLock lock(&mu_);
    if (landed_.empty()) return std::nullopt;
    FetchedPage page = std::move(landed_.front());
    landed_.pop_front();
    return page;
  }

  const std::shared_ptr<Shared> shared_;
  const Keys keys_;
  const StartWalk start_walk_;
  const ContinueWalk continue_walk_;
  const absl::Time not_before_;
  const std::string snapshot_id_;
  absl::Notification cancel_;
  // The walk's thread's alone: the lock value of the walk followed, its stream and the last entry read, how many
  // pages were passed on, how the followed walk ended once its pages are passed on, and until when no progress is
  // waited for.
  std::string followed_lock_;
  std::string live_key_;
  std::string after_id_;
  bool following_ = false;
  int64_t yielded_ = 0;
  std::optional<partner_center::PagePosition> last_next_;  // the next page of the last one passed on
  std::optional<absl::Status> finish_;
  SnapshotName end_name_;
  std::optional<absl::Status> done_;  // how Next ends, every time once it has
  absl::Time give_up_;
  absl::Mutex mu_;
  // Set once, by the walk's thread (which alone reads it unlocked).
  std::unique_ptr<PageSource> inner_;
  std::deque<FetchedPage> landed_ ABSL_GUARDED_BY(mu_);  // read, not yet passed on: at most kLiveEntriesPerRead
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// How a call's new snapshot gets its pages, and its name (empty: a walk of this replica's own, named here).
struct Plan {
  StartWalk start;
  SnapshotName name;
};

// The plan for a call the replica holds no snapshot for, from what Redis holds: a snapshot served from Redis, this
// replica's walk under the lock, waiting for another replica's walk, or (`start_walk` itself) a walk of its own.
// An error is Redis's.
absl::StatusOr<Plan> PlanWithRedis(const std::shared_ptr<Shared>& shared, const Keys& keys,
                                   absl::Duration max_staleness, absl::Time not_before, StartWalk start_walk,
                                   ContinueWalk continue_walk) {
  if (max_staleness > absl::ZeroDuration()) {
    absl::StatusOr<Found> found = FindSnapshot(*shared, keys.snapshot, Wanted{not_before, ""});
    if (!found.ok()) return found.status();
    if (found->pages != nullptr) return Plan{ServedWalk(std::move(found->pages)), found->name};
    if (found->too_large) return Plan{std::move(start_walk), {}};
  }
  absl::StatusOr<std::shared_ptr<WalkLock>> lock = TryLock(shared, keys);
  if (!lock.ok()) return lock.status();
  if (*lock != nullptr) {
    metrics::SnapshotRedis(SnapshotRedisEvent::kWalked);
    SnapshotName name{NewSnapshotId(), (*lock)->started()};
    return Plan{[shared, start_walk = std::move(start_walk), lock = *std::move(lock),
                 id = name.id]() -> absl::StatusOr<std::unique_ptr<PageSource>> {
                  absl::StatusOr<std::unique_ptr<PageSource>> walk = start_walk();
                  if (!walk.ok()) return walk.status();
                  return std::make_unique<PublishingPages>(shared, *std::move(walk), lock, id);
                },
                std::move(name)};
  }
  // A fresh walk was asked for: not another's.
  if (max_staleness <= absl::ZeroDuration()) return Plan{std::move(start_walk), {}};
  absl::StatusOr<std::optional<std::string>> holder = shared->redis->Get(keys.lock);
  if (!holder.ok()) return holder.status();
  std::optional<absl::Time> started = holder->has_value() ? LockStarted(**holder) : std::nullopt;
  // That walk is older than the call allows.
  if (started.has_value() && *started < not_before) return Plan{std::move(start_walk), {}};
  metrics::SnapshotRedis(SnapshotRedisEvent::kWaited);
  SnapshotName name{NewSnapshotId(), started.value_or(shared->now())};
  return Plan{[shared, keys, start_walk = std::move(start_walk), continue_walk = std::move(continue_walk), not_before,
               id = name.id]() -> absl::StatusOr<std::unique_ptr<PageSource>> {
                return std::make_unique<WaitingPages>(shared, keys, start_walk, continue_walk, not_before, id);
              },
              std::move(name)};
}

}  // namespace

RedisSnapshotStore::RedisSnapshotStore(std::shared_ptr<RedisClient> redis, RedisStoreOptions redis_options,
                                       SnapshotOptions options, const std::function<absl::Time()>& now)
    : shared_(std::make_shared<Shared>(
          std::move(redis), std::move(redis_options), now ? now : [] { return absl::Now(); })),
      local_(options, shared_->now) {}

RedisSnapshotStore::~RedisSnapshotStore() = default;

OpenedSnapshot RedisSnapshotStore::Open(const std::string& identity, absl::Duration max_staleness, StartWalk start_walk,
                                        ReaderContext context) {
  if (max_staleness > absl::ZeroDuration() && local_.HasJoinable(identity, max_staleness)) {
    return local_.Open(identity, max_staleness, std::move(start_walk), std::move(context));
  }
  if (!shared_->Usable()) {
    metrics::SnapshotRedis(SnapshotRedisEvent::kSkipped);
    return local_.Open(identity, max_staleness, std::move(start_walk), std::move(context));
  }
  absl::StatusOr<Plan> plan = PlanWithRedis(shared_, KeysOf(shared_->options.key_prefix, identity), max_staleness,
                                            shared_->now() - max_staleness, start_walk, context.continue_walk);
  if (!plan.ok()) {
    shared_->Failed(plan.status(), "finding a snapshot");
    return local_.Open(identity, max_staleness, std::move(start_walk), std::move(context));
  }
  return local_.Open(identity, max_staleness, std::move(plan->start), std::move(context), std::move(plan->name));
}

std::optional<OpenedSnapshot> RedisSnapshotStore::Resume(const std::string& identity, const std::string& snapshot_id,
                                                         int64_t page_index, ReaderContext context) {
  if (std::optional<OpenedSnapshot> held = local_.Resume(identity, snapshot_id, page_index, context)) return held;
  if (!shared_->Usable()) {
    metrics::SnapshotRedis(SnapshotRedisEvent::kSkipped);
    return std::nullopt;
  }
  const Keys keys = KeysOf(shared_->options.key_prefix, identity);
  // A waiting replica's name for the snapshot it served names the published one.
  absl::StatusOr<std::optional<std::string>> alias = shared_->redis->Get(keys.alias_prefix + snapshot_id);
  if (!alias.ok()) {
    shared_->Failed(alias.status(), "finding a snapshot to resume in");
    return std::nullopt;
  }
  const std::string wanted_id = alias->value_or(snapshot_id);
  // The header first: a token for an older snapshot than Redis holds should not fetch the whole newer one.
  absl::StatusOr<std::optional<std::string>> head = shared_->redis->GetPrefix(keys.snapshot, kSnapshotHeaderPeekBytes);
  if (!head.ok()) {
    shared_->Failed(head.status(), "finding a snapshot to resume in");
    return std::nullopt;
  }
  if (!head->has_value()) return std::nullopt;
  if (absl::StatusOr<EncodedSnapshotHeader> header = DecodeSnapshotHeader(**head);
      header.ok() && (header->snapshot_id != wanted_id || header->too_large)) {
    return std::nullopt;
  }
  absl::StatusOr<Found> found = FindSnapshot(*shared_, keys.snapshot, Wanted{absl::InfinitePast(), wanted_id});
  if (!found.ok()) {
    shared_->Failed(found.status(), "finding a snapshot to resume in");
    return std::nullopt;
  }
  if (found->pages == nullptr || page_index < 0 || page_index > static_cast<int64_t>(found->pages->size())) {
    return std::nullopt;
  }
  return local_.ResumeElsewhere(identity, std::move(found->name), ServedWalk(std::move(found->pages)), page_index,
                                std::move(context));
}

}  // namespace pcusage::snapshots
