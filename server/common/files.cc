#include "server/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace pcusage {
namespace {

absl::Status SystemError(absl::string_view what, const std::string& path, int error) {
  return absl::UnavailableError(absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(error)));
}

bool WriteAll(int fd, const std::string& contents) {
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below as not a regular file.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return SystemError("open", path, errno);
  absl::Cleanup close_fd = [fd] { close(fd); };
  struct stat info;
  if (fstat(fd, &info) != 0) return SystemError("stat", path, errno);
  if (!S_ISREG(info.st_mode)) return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  if (static_cast<unsigned long long>(info.st_size) > max_bytes) {  // NOLINT(google-runtime-int)
    return absl::FailedPreconditionError(absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
  }
  std::string contents(max_bytes + 1, '\0');
  std::size_t size = 0;
  while (size < contents.size()) {
    const ssize_t n = read(fd, contents.data() + size, contents.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SystemError("read", path, errno);
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  if (size > max_bytes) {  // it grew while being read
    return absl::FailedPreconditionError(absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
  }
  contents.resize(size);
  return contents;
}

absl::Status AtomicWrite(const std::string& path, const std::string& contents, mode_t mode) {
  std::string temporary = absl::StrCat(path, ".XXXXXX");
  const int fd = mkstemp(temporary.data());  // a fresh private file, never a planted link
  if (fd < 0) return SystemError("create a file next to", path, errno);
  int error = 0;
  if (fchmod(fd, mode) != 0 || !WriteAll(fd, contents) || fsync(fd) != 0) error = errno;
  if (close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && std::rename(temporary.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    unlink(temporary.c_str());
    return SystemError("write", path, error);
  }
  const std::string directory = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  if (const int dir_fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    fsync(dir_fd);  // the rename itself survives a crash
    close(dir_fd);
  }
  return absl::OkStatus();
}

std::optional<FileVersion> FileVersion::Of(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileVersion{static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec,  // NOLINT
                     static_cast<long long>(info.st_size),                                               // NOLINT
                     static_cast<unsigned long long>(info.st_ino), S_ISREG(info.st_mode)};               // NOLINT
}

}  // namespace pcusage
