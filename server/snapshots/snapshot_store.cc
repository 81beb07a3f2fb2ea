#include "server/snapshots/snapshot_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <deque>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/error_details.h"
#include "server/common/log.h"
#include "server/metrics/pcusage_metrics.h"

namespace pcusage::snapshots {

std::string ServerCredentialsIdentity() { return "server-credentials"; }

std::string BearerTokenIdentity(absl::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::StrCat("token-sha256:",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size)));
}

// What the pages of every snapshot take, shared by the store and its snapshots (a snapshot read by a call may
// outlive its place in the store).
struct ByteBudget {
  explicit ByteBudget(std::size_t limit) : limit(limit) {}
  bool Over() const { return held.load(std::memory_order_relaxed) > limit; }

  const std::size_t limit;
  std::atomic<std::size_t> held{0};
};

std::string NewSnapshotId() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return absl::StrCat("t", absl::ToUnixNanos(absl::Now()));
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

// The pages of one walk and the readers reading them. The walk runs on a thread of its own and appends; readers
// wait for the page they need. While the snapshot may be joined or kept every page stays; once it may not (over
// the budget, failed, dropped by the store), pages every reader has passed are dropped as they pass them.
class Snapshot {
 public:
  Snapshot(std::string id, std::string identity, absl::Time started, std::shared_ptr<ByteBudget> budget)
      : id_(std::move(id)), identity_(std::move(identity)), started_(started), budget_(std::move(budget)) {}
  ~Snapshot() { budget_->held -= held_bytes_; }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const std::string& id() const { return id_; }
  const std::string& identity() const { return identity_; }
  absl::Time started() const { return started_; }

  // The walk: appends every page, then the end; `store` is told before each page and at the end.
  void Run(const std::shared_ptr<Snapshot>& self, SnapshotStore& store, const SnapshotStore::StartWalk& start_walk) {
    absl::StatusOr<std::unique_ptr<partner_center::PageSource>> walk = start_walk();
    if (walk.ok()) {
      {
        absl::MutexLock lock(&mu_);
        walk_ = walk->get();
        if (cancelled_) walk_->Cancel();
      }
      absl::Status ended = Feed(**walk, store);
      absl::MutexLock lock(&mu_);
      walk_ = nullptr;
      Finish(std::move(ended));
    } else {
      absl::MutexLock lock(&mu_);
      Finish(walk.status());
    }
    LogEnd();
    store.WalkEnded(self);
  }

  // Stops the walk in flight; its readers then end with its CANCELLED.
  void Cancel() {
    absl::MutexLock lock(&mu_);
    CancelLocked();
  }

  // Whether a new call may read this snapshot from its first page.
  bool Joinable(absl::Time not_before) const {
    absl::MutexLock lock(&mu_);
    return keep_ && !cancelled_ && base_ == 0 && (!done_ || status_.ok()) && started_ >= not_before;
  }
  bool Done() const {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  // Whether the walk ended well with every page still held, so later calls may read it.
  bool Keepable() const {
    absl::MutexLock lock(&mu_);
    return done_ && status_.ok() && keep_ && base_ == 0;
  }
  std::size_t bytes() const {
    absl::MutexLock lock(&mu_);
    return held_bytes_;
  }

  // Stops keeping every page: from now on pages every reader has passed are dropped.
  void Release() {
    absl::MutexLock lock(&mu_);
    keep_ = false;
    TrimLocked();
  }

  // A new reader at page `index`; -1 when that page is no longer held, or the walk was stopped or failed (a later
  // call starts a new walk rather than meet the same failure).
  int AddReader(int64_t index) {
    absl::MutexLock lock(&mu_);
    if (cancelled_ || index < base_ || (done_ && (index > EndLocked() || !status_.ok()))) return -1;
    readers_[next_reader_] = Reader{index};
    return next_reader_++;
  }
  // The reader is gone; when it was the last one of a walk in flight, the walk stops.
  void RemoveReader(int reader) {
    absl::MutexLock lock(&mu_);
    readers_.erase(reader);
    if (readers_.empty() && !done_) {
      keep_ = false;
      CancelLocked();
    }
    TrimLocked();
  }
  void CancelReader(int reader) {
    absl::MutexLock lock(&mu_);
    if (auto it = readers_.find(reader); it != readers_.end()) it->second.cancelled = true;
    TrimLocked();
  }

  // Whether Read() would return at once.
  bool ReadyFor(int reader) const {
    absl::MutexLock lock(&mu_);
    const Reader& self = readers_.at(reader);
    return self.cancelled || self.evicted || done_ || self.next < EndLocked();
  }

  // The reader's next page, waiting for the walk until `wake_by` when it is not there yet (then nullopt: ask
  // again); an empty page optional after the last page.
  std::optional<absl::StatusOr<std::optional<partner_center::FetchedPage>>> Read(int reader, absl::Time wake_by) {
    absl::MutexLock lock(&mu_);
    Reader& self = readers_.at(reader);
    const auto ready = [this, &self]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return self.cancelled || self.evicted || done_ || self.next < EndLocked();
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&ready), wake_by)) return std::nullopt;
    if (self.cancelled) return WithErrorInfo(absl::CancelledError("the call was cancelled"), reason::kCancelled);
    if (self.evicted) {
      return WithErrorInfo(
          absl::UnavailableError(absl::StrCat(
              "the call fell too far behind the shared walk of Partner Center it was reading (the server's "
              "--snapshot_cache_bytes is ",
              budget_->limit, "); resume with the last resume_token received")),
          reason::kSnapshotReaderTooSlow);
    }
    if (self.next < EndLocked()) {
      partner_center::FetchedPage page = pages_[static_cast<std::size_t>(self.next - base_)];
      ++self.next;
      TrimLocked();
      return std::optional<partner_center::FetchedPage>(std::move(page));
    }
    if (!status_.ok()) return status_;
    return std::optional<partner_center::FetchedPage>();
  }

 private:
  struct Reader {
    int64_t next = 0;  // the walk index of the next page it reads
    bool cancelled = false;
    bool evicted = false;
  };

  absl::Status Feed(partner_center::PageSource& walk, SnapshotStore& store) {
    for (;;) {
      absl::StatusOr<std::optional<partner_center::FetchedPage>> page = walk.Next();
      if (!page.ok()) return page.status();
      if (!page->has_value()) return absl::OkStatus();
      (*page)->page.records.ShrinkToFit();  // held for every reader, and maybe kept: no slack
      const std::size_t bytes = (*page)->page.records.bytes();
      store.MakeRoom(bytes);
      absl::MutexLock lock(&mu_);
      records_ += static_cast<int64_t>((*page)->page.records.size());
      pages_.push_back(**std::move(page));
      held_bytes_ += bytes;
      budget_->held += bytes;
      if (budget_->Over()) keep_ = false;
      FitLocked();
    }
  }

  void Finish(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    status_ = std::move(status);
    done_ = true;
    if (!status_.ok()) keep_ = false;
    TrimLocked();
  }

  void LogEnd() {
    absl::MutexLock lock(&mu_);
    std::vector<LogField> fields = {{"snapshot", id_},
                                    {"code", absl::StatusCodeToString(status_.code())},
                                    {"pages", EndLocked()},
                                    {"records", records_},
                                    {"duration_ms", absl::ToInt64Milliseconds(absl::Now() - started_)}};
    if (!status_.ok()) fields.emplace_back("error", status_.message());
    LogEvent(status_.ok() ? LogLevel::kInfo : LogLevel::kWarning, "shared walk of Partner Center finished", fields);
  }

  void CancelLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    cancelled_ = true;
    if (walk_ != nullptr) walk_->Cancel();
  }

  int64_t EndLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return base_ + static_cast<int64_t>(pages_.size()); }

  // Once the snapshot is not kept: drops the pages every reader has passed.
  void TrimLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (keep_) return;
    const int64_t slowest = SlowestLocked().value_or(EndLocked());
    while (base_ < slowest) {
      const std::size_t bytes = pages_.front().page.records.bytes();
      held_bytes_ -= bytes;
      budget_->held -= bytes;
      pages_.pop_front();
      ++base_;
    }
  }

  // After a page was added past the budget: lets go of the slowest readers until those left read the same page,
  // then waits for them while the walk is more than one page ahead of them.
  void FitLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TrimLocked();
    const auto caught_up = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return cancelled_ || !budget_->Over() || SlowestLocked().value_or(EndLocked()) >= EndLocked() - 1;
    };
    while (!caught_up()) {
      const int64_t slowest = *SlowestLocked();
      if (slowest < LeaderLocked()) {
        for (auto& [id, reader] : readers_) {
          if (Active(reader) && reader.next == slowest) reader.evicted = true;
        }
      } else {
        mu_.Await(absl::Condition(&caught_up));
      }
      TrimLocked();
    }
  }

  static bool Active(const Reader& reader) { return !reader.evicted && !reader.cancelled; }
  std::optional<int64_t> SlowestLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::optional<int64_t> slowest;
    for (const auto& [id, reader] : readers_) {
      if (Active(reader)) slowest = std::min(slowest.value_or(reader.next), reader.next);
    }
    return slowest;
  }
  int64_t LeaderLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int64_t leader = 0;
    for (const auto& [id, reader] : readers_) {
      if (Active(reader)) leader = std::max(leader, reader.next);
    }
    return leader;
  }

  const std::string id_;
  const std::string identity_;
  const absl::Time started_;
  const std::shared_ptr<ByteBudget> budget_;

  mutable absl::Mutex mu_;
  std::deque<partner_center::FetchedPage> pages_ ABSL_GUARDED_BY(mu_);
  int64_t base_ ABSL_GUARDED_BY(mu_) = 0;  // the walk index of pages_.front()
  std::size_t held_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t records_ ABSL_GUARDED_BY(mu_) = 0;  // in every page the walk added
  bool keep_ ABSL_GUARDED_BY(mu_) = true;     // every page stays: new calls may still read it from the start
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  partner_center::PageSource* walk_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::map<int, Reader> readers_ ABSL_GUARDED_BY(mu_);
  int next_reader_ ABSL_GUARDED_BY(mu_) = 0;
};

namespace {

// One call's reading of a snapshot, as the PageSource the service pulls from. While it waits for the walk it
// looks at the call every kReaderPollInterval, so a cancelled call or a passed deadline ends it promptly.
class SnapshotReader final : public partner_center::PageSource {
 public:
  SnapshotReader(std::shared_ptr<Snapshot> snapshot, int reader, ReaderContext context)
      : snapshot_(std::move(snapshot)), reader_(reader), context_(std::move(context)) {}
  ~SnapshotReader() override { snapshot_->RemoveReader(reader_); }
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  absl::StatusOr<std::optional<partner_center::FetchedPage>> Next() override {
    for (;;) {
      const absl::Time now = absl::Now();
      if (now >= context_.deadline) {
        return WithErrorInfo(absl::DeadlineExceededError("the call's deadline passed while it waited for Partner "
                                                         "Center's next page"),
                             reason::kDeadlineExceeded);
      }
      if (context_.is_cancelled && context_.is_cancelled()) Cancel();
      if (auto page = snapshot_->Read(reader_, std::min(context_.deadline, now + kReaderPollInterval))) {
        return *std::move(page);
      }
    }
  }
  void Cancel() override { snapshot_->CancelReader(reader_); }
  bool NextIsReady() override { return snapshot_->ReadyFor(reader_); }

 private:
  std::shared_ptr<Snapshot> snapshot_;
  int reader_;
  ReaderContext context_;
};

OpenedSnapshot ReaderOf(const std::shared_ptr<Snapshot>& snapshot, int reader, bool shared, ReaderContext context) {
  OpenedSnapshot opened;
  opened.pages = std::make_unique<SnapshotReader>(snapshot, reader, std::move(context));
  opened.snapshot_id = snapshot->id();
  opened.snapshot_time = snapshot->started();
  opened.shared = shared;
  return opened;
}

}  // namespace

SnapshotStore::SnapshotStore(SnapshotOptions options, std::function<absl::Time()> now)
    : options_(options),
      now_(now ? std::move(now) : [] { return absl::Now(); }),
      budget_(std::make_shared<ByteBudget>(options.cache_bytes)) {}

SnapshotStore::~SnapshotStore() {
  std::list<Walker> walkers;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    walkers.swap(walkers_);
  }
  for (Walker& walker : walkers) walker.snapshot->Cancel();
  for (Walker& walker : walkers) walker.thread.join();
}

bool SnapshotStore::HasJoinable(const std::string& identity, absl::Duration max_staleness) const {
  absl::MutexLock lock(&mu_);
  auto newest = by_identity_.find(identity);
  return newest != by_identity_.end() && max_staleness > absl::ZeroDuration() &&
         newest->second->Joinable(now_() - max_staleness);
}

OpenedSnapshot SnapshotStore::Open(const std::string& identity, absl::Duration max_staleness, StartWalk start_walk,
                                   ReaderContext context, SnapshotName name) {
  absl::MutexLock lock(&mu_);
  ReapWalkersLocked();
  auto newest = by_identity_.find(identity);
  if (newest != by_identity_.end() && max_staleness > absl::ZeroDuration() &&
      newest->second->Joinable(now_() - max_staleness)) {
    const std::shared_ptr<Snapshot> snapshot = newest->second;
    if (const int reader = snapshot->AddReader(0); reader >= 0) {
      if (snapshot->Done()) {
        ++stats_.hits;
        metrics::SnapshotOpened(metrics::SnapshotOpen::kHit);
        completed_.remove(snapshot);
        completed_.push_front(snapshot);
      } else {
        ++stats_.joins;
        metrics::SnapshotOpened(metrics::SnapshotOpen::kJoin);
      }
      return ReaderOf(snapshot, reader, /*shared=*/true, std::move(context));
    }
  }
  if (newest != by_identity_.end()) DropLocked(newest->second);

  auto [snapshot, reader] = StartLocked(identity, std::move(name), std::move(start_walk), 0);
  by_identity_[identity] = snapshot;
  ++stats_.walks;
  metrics::SnapshotOpened(metrics::SnapshotOpen::kMiss);
  return ReaderOf(snapshot, reader, /*shared=*/false, std::move(context));
}

OpenedSnapshot SnapshotStore::ResumeElsewhere(const std::string& identity, SnapshotName name, StartWalk pages,
                                              int64_t page_index, ReaderContext context) {
  absl::MutexLock lock(&mu_);
  ReapWalkersLocked();
  auto [snapshot, reader] = StartLocked(identity, std::move(name), std::move(pages), page_index);
  ++stats_.resumes;
  metrics::SnapshotOpened(metrics::SnapshotOpen::kResume);
  return ReaderOf(snapshot, reader, /*shared=*/true, std::move(context));
}

std::pair<std::shared_ptr<Snapshot>, int> SnapshotStore::StartLocked(const std::string& identity, SnapshotName name,
                                                                     StartWalk start_walk, int64_t page_index) {
  auto snapshot = std::make_shared<Snapshot>(name.id.empty() ? NewSnapshotId() : std::move(name.id), identity,
                                             name.started.value_or(now_()), budget_);
  by_id_[snapshot->id()] = snapshot;
  const int reader = snapshot->AddReader(page_index);
  if (stopping_) snapshot->Cancel();
  auto finished = std::make_shared<std::atomic<bool>>(false);
  walkers_.push_back(Walker{std::thread([this, snapshot, finished, start_walk = std::move(start_walk)] {
                              snapshot->Run(snapshot, *this, start_walk);
                              finished->store(true);
                            }),
                            snapshot, finished});
  return {snapshot, reader};
}

std::optional<OpenedSnapshot> SnapshotStore::Resume(const std::string& identity, const std::string& snapshot_id,
                                                    int64_t page_index, ReaderContext context) {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(snapshot_id);
  if (it == by_id_.end()) return std::nullopt;
  std::shared_ptr<Snapshot> snapshot = it->second.lock();
  if (snapshot == nullptr || snapshot->identity() != identity) return std::nullopt;
  const int reader = snapshot->AddReader(page_index);
  if (reader < 0) return std::nullopt;
  ++stats_.resumes;
  metrics::SnapshotOpened(metrics::SnapshotOpen::kResume);
  return ReaderOf(snapshot, reader, /*shared=*/true, std::move(context));
}

void SnapshotStore::MakeRoom(std::size_t bytes) {
  absl::MutexLock lock(&mu_);
  while (budget_->held.load() + bytes > budget_->limit && !completed_.empty()) {
    DropLocked(completed_.back());
  }
}

void SnapshotStore::WalkEnded(const std::shared_ptr<Snapshot>& snapshot) {
  absl::MutexLock lock(&mu_);
  auto newest = by_identity_.find(snapshot->identity());
  if (newest == by_identity_.end() || newest->second != snapshot) {
    snapshot->Release();  // a newer walk replaced it, or the store dropped it
    return;
  }
  if (!snapshot->Keepable()) {
    DropLocked(snapshot);
    return;
  }
  completed_.push_front(snapshot);
}

void SnapshotStore::DropLocked(const std::shared_ptr<Snapshot>& snapshot) {
  // A copy: `snapshot` may be the very entry erased below.
  const std::shared_ptr<Snapshot> dropped = snapshot;  // NOLINT(performance-unnecessary-copy-initialization)
  completed_.remove(dropped);
  if (auto it = by_identity_.find(dropped->identity()); it != by_identity_.end() && it->second == dropped) {
    by_identity_.erase(it);
  }
  dropped->Release();
}

void SnapshotStore::ReapWalkersLocked() {
  for (auto it = walkers_.begin(); it != walkers_.end();) {
    if (!it->finished->load()) {
      ++it;
      continue;
    }
    it->thread.join();  // its walk has ended and been reported: the thread is leaving or gone
    it = walkers_.erase(it);
  }
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    it = it->second.expired() ? by_id_.erase(it) : std::next(it);
  }
}

SnapshotStore::Stats SnapshotStore::stats() const {
  absl::MutexLock lock(&mu_);
  Stats stats = stats_;
  stats.kept = static_cast<int>(completed_.size());
  for (const std::shared_ptr<Snapshot>& snapshot : completed_) stats.kept_bytes += snapshot->bytes();
  stats.held_bytes = budget_->held.load();
  for (const Walker& walker : walkers_) stats.walks_in_flight += walker.finished->load() ? 0 : 1;
  return stats;
}

}  // namespace pcusage::snapshots
