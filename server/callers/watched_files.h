// A value read from files an operator may replace while the server runs (the API keys file, the allow list, the
// listener's TLS key, certificate and client CA): the files are looked at (stat) at most once per interval, read again
// when any of them changed, and a new value is used only when it loads cleanly. A bad new version keeps the value in
// force and is logged once as a warning saying why (never what the file holds); a good one is logged once.
#ifndef PCUSAGE_SERVER_CALLERS_WATCHED_FILES_H_
#define PCUSAGE_SERVER_CALLERS_WATCHED_FILES_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/files.h"

namespace pcusage::callers {

// Which versions of a set of files were last seen, and whether they have changed since.
class FileVersions {
 public:
  explicit FileVersions(std::vector<std::string> paths);

  // Records the versions on disk now.
  void Record();
  // Whether any file's version on disk differs from the ones recorded (a file that cannot be stat'ed counts as a
  // version of its own); records the new ones.
  bool ChangedSinceRecorded();

 private:
  std::vector<std::optional<FileVersion>> Now() const;

  std::vector<std::string> paths_;
  std::vector<std::optional<FileVersion>> recorded_;
};

// Logs what a reload brought: `described` when it loaded, else why not.
void LogReload(absl::string_view what, const absl::StatusOr<std::string>& described);

template <typename T>
class WatchedFiles {
 public:
  // Reads a new value from the files; the message of an error names the file and says what is wrong with it.
  using Load = std::function<absl::StatusOr<std::shared_ptr<const T>>()>;
  // A line for the log about a value in force, e.g. "3 API keys".
  using Describe = std::function<std::string(const T&)>;

  // Loads the value at once: the error of that first load is returned as is. `what` names the files in log lines
  // ("API keys file /etc/keys"); `interval` is the least time between two looks at the files (zero: every Current).
  static absl::StatusOr<std::unique_ptr<WatchedFiles>> Create(std::string what, std::vector<std::string> paths,
                                                              absl::Duration interval, Load load, Describe describe) {
    std::unique_ptr<WatchedFiles> watched(
        new WatchedFiles(std::move(what), std::move(paths), interval, std::move(load), std::move(describe)));
    // Versions are recorded before reading, so a replacement during the read is seen at the next look.
    watched->versions_.Record();
    absl::StatusOr<std::shared_ptr<const T>> first = watched->load_();
    if (!first.ok()) return first.status();
    watched->current_ = *std::move(first);
    watched->last_look_ = absl::Now();
    return watched;
  }

  // The value in force: the newest that loaded cleanly. Safe to call from any number of threads; a call that finds
  // the files due for a look and changed reads them while the others wait.
  std::shared_ptr<const T> Current() {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now - last_look_ < interval_) return current_;
    last_look_ = now;
    if (!versions_.ChangedSinceRecorded()) return current_;
    absl::StatusOr<std::shared_ptr<const T>> loaded = load_();
    if (loaded.ok()) {
      current_ = *std::move(loaded);
      LogReload(what_, describe_(*current_));
    } else {
      LogReload(what_, loaded.status());
    }
    return current_;
  }

 private:
  WatchedFiles(std::string what, std::vector<std::string> paths, absl::Duration interval, Load load, Describe describe)
      : what_(std::move(what)),
        interval_(interval),
        load_(std::move(load)),
        describe_(std::move(describe)),
        versions_(std::move(paths)) {}

  const std::string what_;
  const absl::Duration interval_;
  const Load load_;
  const Describe describe_;
  absl::Mutex mu_;
  FileVersions versions_ ABSL_GUARDED_BY(mu_);
  absl::Time last_look_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const T> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pcusage::callers

#endif  // PCUSAGE_SERVER_CALLERS_WATCHED_FILES_H_
