#include "tests/testing/runfiles.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace pcusage::testing {

std::string RunfilePath(const std::string& workspace_relative) {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  return absl::StrCat(runfiles != nullptr ? runfiles : ".", "/pcusage/", workspace_relative);
}

std::string ReadRunfile(const std::string& workspace_relative) {
  const std::string path = RunfilePath(workspace_relative);
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  if (!file.good()) ADD_FAILURE() << "cannot read " << path;
  return contents.str();
}

}  // namespace pcusage::testing
