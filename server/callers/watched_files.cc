#include "server/callers/watched_files.h"

#include <utility>

#include "server/common/log.h"

namespace pcusage::callers {

FileVersions::FileVersions(std::vector<std::string> paths) : paths_(std::move(paths)) {}

std::vector<std::optional<FileVersion>> FileVersions::Now() const {
  std::vector<std::optional<FileVersion>> versions;
  versions.reserve(paths_.size());
  for (const std::string& path : paths_) versions.push_back(FileVersion::Of(path));
  return versions;
}

void FileVersions::Record() { recorded_ = Now(); }

bool FileVersions::ChangedSinceRecorded() {
  std::vector<std::optional<FileVersion>> now = Now();
  if (now == recorded_) return false;
  recorded_ = std::move(now);
  return true;
}

void LogReload(absl::string_view what, const absl::StatusOr<std::string>& described) {
  if (described.ok()) {
    LogInfo(what, " changed: ", *described, " now in force");
  } else {
    LogWarning(what, " changed but cannot be used (", described.status().message(), "); keeping the one read earlier");
  }
}

}  // namespace pcusage::callers
