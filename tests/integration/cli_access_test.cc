// pcusage_cli against real processes on loopback, run through bash as a user would: CSV output, a reader that closes
// the pipe early (`pcusage_cli list | head -2`), an API key read from a file, and TLS and mutual TLS with a PKI made
// at test time.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/testing_tls.h"

namespace pcusage {
namespace {

using ::pcusage::testing::ChildProcess;
using ::pcusage::testing::RunfilePath;
using ::pcusage::testing::TempPath;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kApiKey[] = "cli-api-key-SECRET-5e8d-0123456789";
constexpr char kCsvHeader[] =
    "id,name,resource_id,resource_name,budget_amount,customer_spending_budget_amount,usage_spending_budget_amount,"
    "percent_used,total_cost,usd_total_cost,currency_locale,currency_code,currency_symbol,is_upgraded,"
    "last_modified_time\r\n";

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::trunc) << contents;
  return path;
}

// `text` as one single-quoted bash word.
std::string Quoted(const std::string& text) {
  return absl::StrCat("'", absl::StrJoin(absl::StrSplit(text, '\''), "'\\''"), "'");
}

struct Shell {
  int exit_status = -1;
  std::string out;
  std::string err;
};

// Runs `command` with bash under `set -o pipefail`, stdout and stderr captured apart.
Shell RunShell(const std::string& command) {
  const std::string out = TempPath("shell.out");
  const std::string err = TempPath("shell.err");
  const int status = std::system(
      absl::StrCat("bash -c ", Quoted("set -o pipefail; " + command), " >", Quoted(out), " 2>", Quoted(err)).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out), ReadFile(err)};
}

// `pcusage_cli list` with the emulator's token and `flags`, as a bash command.
std::string CliList(const std::string& server, const std::vector<std::string>& flags) {
  std::vector<std::string> words = {"PCUSAGE_ACCESS_TOKEN=emulator-token",
                                    Quoted(RunfilePath("client_stubs/cpp/pcusage_cli")), "list",
                                    Quoted("--server=" + server), "--timeout=60s"};
  for (const std::string& flag : flags) words.push_back(Quoted(flag));
  return absl::StrJoin(words, " ");
}

// A process of the stack, on the loopback port it wrote to its port file.
struct Running {
  std::unique_ptr<ChildProcess> process;
  std::string address;
};

Running Start(const std::string& binary, std::vector<std::string> flags) {
  const std::string port_file = TempPath("port");
  flags.push_back("--port_file=" + port_file);
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(RunfilePath(binary), flags, TempPath("log"));
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return {};
  absl::StatusOr<int> port = (*process)->WaitForPortFile(port_file, absl::Seconds(30));
  EXPECT_TRUE(port.ok()) << port.status();
  return {*std::move(process), absl::StrCat("127.0.0.1:", port.value_or(0))};
}

class CliAccessTest : public ::testing::Test {
 protected:
  // The emulator with `dataset_flags`, and a server in front of it with `server_flags`.
  void StartStack(const std::vector<std::string>& dataset_flags, std::vector<std::string> server_flags) {
    std::vector<std::string> emulator_flags = {"--port=0", "--access_token=emulator-token"};
    emulator_flags.insert(emulator_flags.end(), dataset_flags.begin(), dataset_flags.end());
    emulator_ = Start("tests/emulator/pc_emulator", emulator_flags);
    ASSERT_NE(emulator_.process, nullptr);
    server_flags.insert(server_flags.begin(),
                        {"--listen=127.0.0.1:0", "--partner_center_url=http://" + emulator_.address});
    server_ = Start("server/pcusage_server", server_flags);
    ASSERT_NE(server_.process, nullptr);
  }

  std::string ServerLog() const { return server_.process != nullptr ? server_.process->Log() : ""; }

  Running emulator_;
  Running server_;
};

TEST_F(CliAccessTest, CsvHasAHeaderRowCrlfLineEndsAndEveryValueExactly) {
  StartStack({"--dataset=seed"}, {});
  const Shell csv = RunShell(CliList(server_.address, {"--format=csv", "--page_size=3"}));
  ASSERT_EQ(csv.exit_status, 0) << csv.err;
  EXPECT_EQ(
      csv.out,
      absl::StrCat(kCsvHeader,
                   "a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1,LEGACY AZURE CUSTOMER SE,a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1,"
                   "LEGACY AZURE CUSTOMER SE,,,,0,0,0,fr-FR,,,false,2019-08-01T23:00:16.570Z\r\n",
                   "b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2,Modern Azure Customer SE,b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2,"
                   "Modern Azure Customer SE,20,,,602.84,120.5682999999995904716,12.39999999999999985235,,SEK,,true,"
                   "2019-09-17T17:08:11.143333300Z\r\n",
                   "c2c2c2c2-dddd-eeee-ffff-a3a3a3a3a3a3,Test_Test_MA20190829_14,c2c2c2c2-dddd-eeee-ffff-a3a3a3a3a3a3,"
                   "Test_Test_MA20190829_14,,,,0,0,0,,GBP,,true,2019-09-17T17:08:11.143333300Z\r\n",
                   "d3d3d3d3-eeee-ffff-aaaa-b4b4b4b4b4b4,Modern Azure Customer UK,d3d3d3d3-eeee-ffff-aaaa-b4b4b4b4b4b4,"
                   "Modern Azure Customer UK,97,,,28.08,27.23292827625710931604,33.280000000000001044,,GBP,,true,"
                   "2019-09-17T17:08:11.143333300Z\r\n"));
  EXPECT_THAT(csv.err, HasSubstr("4 records in 2 messages; Partner Center totalCount 25"));
}

TEST_F(CliAccessTest, AReaderThatClosesThePipeEndsTheListQuietlyWithExitZero) {
  StartStack({"--dataset=generated", "--customers=3000", "--page_size=500"}, {});
  // The whole listing is far more than a pipe holds, so `head` closes the pipe while the stream still runs.
  const Shell size = RunShell(CliList(server_.address, {"--format=csv"}) + " | wc -c");
  ASSERT_EQ(size.exit_status, 0) << size.err;
  EXPECT_GT(std::stol(size.out), 4 * 65536);
  for (const char* format : {"csv", "jsonl", "table"}) {
    const Shell head = RunShell(CliList(server_.address, {absl::StrCat("--format=", format)}) + " | head -2");
    EXPECT_EQ(head.exit_status, 0) << format << ": " << head.err;
    EXPECT_EQ(head.err, "") << format;
    EXPECT_EQ(std::count(head.out.begin(), head.out.end(), '\n'), 2) << format;
  }
  const Shell first = RunShell(CliList(server_.address, {"--format=csv"}) + " | head -1");
  EXPECT_EQ(first.out, kCsvHeader);
}

TEST_F(CliAccessTest, AnOutputThatFailsOtherwiseIsAnError) {
  StartStack({"--dataset=seed"}, {});
  const Shell full = RunShell(CliList(server_.address, {"--format=jsonl"}) + " >/dev/full");
  EXPECT_EQ(full.exit_status, 1);
  EXPECT_THAT(full.err, HasSubstr("pcusage_cli: writing to stdout failed: No space left on device"));
}

TEST_F(CliAccessTest, AnApiKeyFromAFileLetsTheCallerInAndIsNeverPrinted) {
  const Shell hashed = RunShell(absl::StrCat("printf '%s\\n' ", Quoted(kApiKey), " | ",
                                             Quoted(RunfilePath("server/pcusage_api_key")), " cli-test"));
  ASSERT_EQ(hashed.exit_status, 0) << hashed.err;
  StartStack({"--dataset=seed"}, {"--api_keys_file=" + WriteFile("api_keys", hashed.out)});

  const Shell without = RunShell(CliList(server_.address, {}));
  EXPECT_EQ(without.exit_status, 1);
  EXPECT_THAT(without.err, HasSubstr("pcusage_cli: UNAUTHENTICATED: "));
  EXPECT_THAT(without.err, HasSubstr("pcusage_cli: reason CALLER_UNAUTHENTICATED"));

  const std::string wrong_key = "wrong-key-SECRET-0000-0123456789";
  const Shell wrong = RunShell(CliList(server_.address, {"--api_key_file=" + WriteFile("wrong_key", wrong_key)}));
  EXPECT_EQ(wrong.exit_status, 1);
  EXPECT_THAT(wrong.err, HasSubstr("reason CALLER_UNAUTHENTICATED"));
  EXPECT_THAT(wrong.err, Not(HasSubstr(wrong_key)));

  const std::string key_file = WriteFile("api_key", absl::StrCat(" ", kApiKey, "\n"));
  const Shell with = RunShell(CliList(server_.address, {"--format=csv", "--api_key_file=" + key_file}));
  ASSERT_EQ(with.exit_status, 0) << with.err;
  EXPECT_EQ(std::count(with.out.begin(), with.out.end(), '\n'), 5) << "the header and 4 records";
  EXPECT_THAT(with.err, Not(HasSubstr(kApiKey)));
  EXPECT_THAT(with.out, Not(HasSubstr(kApiKey)));
  EXPECT_THAT(ServerLog(), Not(HasSubstr(kApiKey)));

  // (Not "localhost": resolving a name makes Debian's c-ares leak 10 bytes at exit, which fails the ASan run.)
  const Shell with_scheme = RunShell(CliList("dns:///" + server_.address, {"--api_key_file=" + key_file}));
  EXPECT_EQ(with_scheme.exit_status, 0) << "dns:///127.0.0.1 is loopback: " << with_scheme.err;
  const Shell off_loopback = RunShell(CliList("pcusage.example.invalid:443", {"--api_key_file=" + key_file}));
  EXPECT_EQ(off_loopback.exit_status, 2) << "a key is sent in plaintext only to loopback";
  EXPECT_THAT(off_loopback.err, HasSubstr("use --tls"));
  EXPECT_THAT(off_loopback.err, Not(HasSubstr(kApiKey)));

  const Shell on_the_command_line = RunShell(CliList(server_.address, {absl::StrCat("--api_key=", kApiKey)}));
  EXPECT_EQ(on_the_command_line.exit_status, 2) << "keys are read from files only";
}

class CliTlsTest : public CliAccessTest {
 protected:
  void SetUp() override {
    absl::StatusOr<emulator::TestPki> pki = emulator::MakeTestPki(TempPath("pki"));
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
  }

  emulator::TestPki pki_;
};

TEST_F(CliTlsTest, TlsVerifiesTheServerAgainstTheGivenAuthority) {
  StartStack({"--dataset=seed"},
             {"--tls_cert_file=" + pki_.server.cert_file, "--tls_key_file=" + pki_.server.key_file});

  const Shell trusted = RunShell(CliList(server_.address, {"--format=csv", "--tls_ca_file=" + pki_.ca.cert_file}));
  ASSERT_EQ(trusted.exit_status, 0) << trusted.err;
  EXPECT_EQ(std::count(trusted.out.begin(), trusted.out.end(), '\n'), 5);

  const Shell named = RunShell(CliList(
      server_.address, {"--format=csv", "--tls", "--tls_ca_file=" + pki_.ca.cert_file, "--tls_server_name=localhost"}));
  EXPECT_EQ(named.exit_status, 0) << named.err;

  for (const std::vector<std::string>& refused :
       {std::vector<std::string>{"--tls_ca_file=" + pki_.other_ca.cert_file},
        {"--tls_ca_file=" + pki_.ca.cert_file, "--tls_server_name=not-the-server.example"},
        {}}) {
    const Shell shell = RunShell(CliList(server_.address, refused));
    EXPECT_EQ(shell.exit_status, 1) << absl::StrJoin(refused, " ") << ": " << shell.err;
    EXPECT_THAT(shell.err, HasSubstr("pcusage_cli: UNAVAILABLE")) << absl::StrJoin(refused, " ");
    EXPECT_EQ(shell.out, "");
  }
}

TEST_F(CliTlsTest, MutualTlsPresentsTheClientCertificate) {
  StartStack({"--dataset=seed"}, {"--tls_cert_file=" + pki_.server.cert_file, "--tls_key_file=" + pki_.server.key_file,
                                  "--tls_client_ca_file=" + pki_.ca.cert_file});

  const Shell with = RunShell(
      CliList(server_.address, {"--format=jsonl", "--tls_ca_file=" + pki_.ca.cert_file,
                                "--tls_cert_file=" + pki_.client.cert_file, "--tls_key_file=" + pki_.client.key_file}));
  ASSERT_EQ(with.exit_status, 0) << with.err;
  EXPECT_EQ(std::count(with.out.begin(), with.out.end(), '\n'), 4);

  const Shell without = RunShell(CliList(server_.address, {"--tls_ca_file=" + pki_.ca.cert_file}));
  EXPECT_EQ(without.exit_status, 1);
  EXPECT_THAT(without.err, HasSubstr("pcusage_cli: UNAVAILABLE"));

  const Shell half = RunShell(CliList(server_.address, {"--tls_cert_file=" + pki_.client.cert_file}));
  EXPECT_EQ(half.exit_status, 2) << "--tls_cert_file goes with --tls_key_file";
}

}  // namespace
}  // namespace pcusage
