// Which version of a file is on disk (modification time, size, inode): how token sources notice that an external job
// replaced a credential file, without reading it on every call.
#ifndef PCUSAGE_SERVER_AUTH_FILE_VERSION_H_
#define PCUSAGE_SERVER_AUTH_FILE_VERSION_H_

#include <sys/stat.h>

#include <optional>
#include <string>

namespace pcusage::auth {

struct FileVersion {
  long long modified_ns = 0;
  long long size = 0;
  unsigned long long inode = 0;
  bool regular = false;

  bool operator==(const FileVersion& other) const {
    return modified_ns == other.modified_ns && size == other.size && inode == other.inode;
  }
  bool operator!=(const FileVersion& other) const { return !(*this == other); }

  // The version of `path` now; nullopt when it cannot be stat'ed.
  static std::optional<FileVersion> Of(const std::string& path) {
    struct stat info;
    if (stat(path.c_str(), &info) != 0) return std::nullopt;
    return FileVersion{static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec,
                       static_cast<long long>(info.st_size), static_cast<unsigned long long>(info.st_ino),
                       S_ISREG(info.st_mode)};
  }
};

}  // namespace pcusage::auth

#endif  // PCUSAGE_SERVER_AUTH_FILE_VERSION_H_
