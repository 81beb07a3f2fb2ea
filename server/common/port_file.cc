#include "server/common/port_file.h"

#include "absl/strings/str_cat.h"
#include "server/common/files.h"

namespace pcusage {

absl::Status WritePortFile(const std::string& path, int port) {
  return AtomicWrite(path, absl::StrCat(port, "\n"), 0644);
}

}  // namespace pcusage
