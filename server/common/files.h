// Small files the server reads and writes: credentials, keys, allow lists, port files. Reads are bounded and never
// block on a FIFO or device; writes replace a file atomically, so readers see the old contents or the new, never
// half.
#ifndef PCUSAGE_SERVER_COMMON_FILES_H_
#define PCUSAGE_SERVER_COMMON_FILES_H_

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pcusage {

// The contents of `path`, which must be a regular file of at most `max_bytes`. UNAVAILABLE (with the system's
// reason) when it cannot be opened or read, FAILED_PRECONDITION when it is not a regular file or is larger. The
// message names the file, never its contents.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::size_t max_bytes);

// Replaces `path` with `contents`: written to a new private file beside it (mode `mode`), flushed to disk, then
// renamed over it, and the directory flushed. UNAVAILABLE naming the file and the reason when any step fails; the
// old file is then left as it was.
absl::Status AtomicWrite(const std::string& path, const std::string& contents, mode_t mode = 0600);

// Which version of a file is on disk (modification time, size, inode): how a reader notices that an external job
// replaced a file, without reading it on every call.
struct FileVersion {
  long long modified_ns = 0;     // NOLINT(google-runtime-int): struct stat's types
  long long size = 0;            // NOLINT(google-runtime-int)
  unsigned long long inode = 0;  // NOLINT(google-runtime-int)
  bool regular = false;

  bool operator==(const FileVersion& other) const {
    return modified_ns == other.modified_ns && size == other.size && inode == other.inode;
  }
  bool operator!=(const FileVersion& other) const { return !(*this == other); }

  // The version of `path` now; nullopt when it cannot be stat'ed.
  static std::optional<FileVersion> Of(const std::string& path);
};

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_FILES_H_
