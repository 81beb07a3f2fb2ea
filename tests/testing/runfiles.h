// Files a Bazel test declared as data: where they are, and their bytes.
#ifndef PCUSAGE_TESTS_TESTING_RUNFILES_H_
#define PCUSAGE_TESTS_TESTING_RUNFILES_H_

#include <string>

namespace pcusage::testing {

// The runfiles path of a file of this workspace, e.g. "server/pcusage_server".
std::string RunfilePath(const std::string& workspace_relative);

// The bytes of that file; empty, with a gtest failure added, when it cannot be read.
std::string ReadRunfile(const std::string& workspace_relative);

}  // namespace pcusage::testing

#endif  // PCUSAGE_TESTS_TESTING_RUNFILES_H_
