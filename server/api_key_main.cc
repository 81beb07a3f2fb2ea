// pcusage_api_key NAME: reads an API key from stdin and prints the line for pcusage_server's --api_keys_file
// (the key's name, a random salt and the salted SHA-256 hash; the key itself is not in it).
#include <iostream>
#include <string>

#include "absl/strings/ascii.h"
#include "packaging/build_info.h"
#include "server/callers/caller_authenticator.h"

// Printed by --help (to stdout, exit status 0) and after a usage error (to stderr, exit status 2).
constexpr char kUsage[] =
    "usage: pcusage_api_key NAME < key\n"
    "       pcusage_api_key --version\n"
    "Prints '<NAME> <salt> <hash>' for pcusage_server --api_keys_file; NAME has no spaces or '#'.\n";

int main(int argc, char** argv) {
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  if (argc == 2 && std::string(argv[1]) == "--version") {
    std::cout << pcusage::build_info::VersionText("pcusage_api_key");
    return 0;
  }
  if (argc != 2 || std::string(argv[1]).empty() || std::string(argv[1]).find_first_of(" \t#") != std::string::npos) {
    std::cerr << kUsage;
    return 2;
  }
  std::string key;
  std::getline(std::cin, key);
  key = std::string(absl::StripAsciiWhitespace(key));
  if (key.size() < 16) {
    std::cerr << "pcusage_api_key: the key on stdin must be at least 16 characters\n";
    return 2;
  }
  absl::StatusOr<std::string> line = pcusage::callers::CallerAuthenticator::HashLine(argv[1], key);
  if (!line.ok()) {
    std::cerr << "pcusage_api_key: " << line.status().message() << "\n";
    return 1;
  }
  std::cout << *line << "\n";
  return 0;
}
