#!/usr/bin/env python3
"""The Debian package, the version and the configuration mechanisms, tested on what tools/package built.

  package_test.py --repo DIR --deb PATH --emulator PATH

Prints "package: N passed, N failed, N skipped" last and exits non-zero on any failure. Four groups:
  VersionTest        every place that states the version agrees with VERSION; --version and --help exit 0
  ConfigurationTest  --flagfile, --fromenv and --tryfromenv on the packaged server; the example flag file parses
  DebTest            the .deb's control fields (dpkg-shlibdeps dependencies), conffile and file list
  InstallTest        dpkg -i, systemd-analyze on the installed unit, the installed programs against the Partner
                     Center emulator, dpkg -r (the conffile stays), dpkg --purge, and the machine as it was found
The first three run the programs extracted from the .deb (dpkg-deb -x); InstallTest needs root or sudo.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import unittest
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ARGS = argparse.Namespace()

PROGRAMS = ("pcusage_server", "pcusage_cli", "pcusage_api_key")
UNIT = Path("/lib/systemd/system/pcusage.service")
FLAGS = Path("/etc/pcusage/pcusage.flags")
EMULATOR_TOKEN = "package-test-emulator-token"
CUSTOMERS = 57  # records of the emulator's generated data set; pages of 10, so six linked pages

# Every path the package or its service may leave on the machine; their state before and after must be equal.
WATCHED_PATHS = (
    "/usr/bin/pcusage_server", "/usr/bin/pcusage_cli", "/usr/bin/pcusage_api_key", str(UNIT), "/etc/pcusage",
    "/usr/share/doc/pcusage", "/var/lib/pcusage", "/var/lib/private/pcusage",
    "/etc/systemd/system/multi-user.target.wants/pcusage.service")


def run(command, timeout=60, **kwargs):
    """Runs a command to its end and returns the CompletedProcess (text output captured)."""
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def version_file():
    return (Path(ARGS.repo) / "VERSION").read_text().strip()


def wait_for_file(path, process, seconds=30):
    """The contents of `path` once a process has written it; fails if the process ends first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if process.poll() is not None:
            raise AssertionError(f"{process.args[0]} exited with {process.returncode} before writing {path}")
        time.sleep(0.05)
    raise AssertionError(f"{path} not written within {seconds}s")


class Processes:
    """Starts processes whose stderr goes to a file, and stops every one of them on exit."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.started = []

    def start(self, name, command, env=None):
        log = open(self.directory / f"{name}.log", "w")  # pylint: disable=consider-using-with
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=env)
        self.started.append((process, log))
        return process

    def log(self, name):
        return (self.directory / f"{name}.log").read_text()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for process, _ in self.started:
            if process.poll() is None:
                process.kill()
        for process, log in self.started:
            process.wait(timeout=30)
            log.close()


class Extracted:
    """The .deb's files unpacked once into a temporary directory (dpkg-deb -x), and its control fields."""
    root = None
    control = {}

    @classmethod
    def load(cls):
        if cls.root is None:
            cls.root = Path(tempfile.mkdtemp(prefix="pcusage-deb-"))
            result = run(["dpkg-deb", "-x", ARGS.deb, str(cls.root)])
            assert result.returncode == 0, result.stderr
            fields = run(["dpkg-deb", "-f", ARGS.deb])
            assert fields.returncode == 0, fields.stderr
            for line in fields.stdout.splitlines():
                if not line.startswith(" ") and ":" in line:
                    name, value = line.split(":", 1)
                    cls.control[name] = value.strip()
        return cls.root

    @classmethod
    def program(cls, name):
        return str(cls.load() / "usr/bin" / name)

    @classmethod
    def remove(cls):
        if cls.root is not None:
            shutil.rmtree(cls.root, ignore_errors=True)


class VersionTest(unittest.TestCase):
    """VERSION is the one place the version is written; everything else that states it must agree."""

    def test_every_place_that_states_the_version_agrees_with_the_version_file(self):
        repo = Path(ARGS.repo)
        expected = version_file()
        self.assertRegex(expected, r"^\d+\.\d+\.\d+$")
        with open(repo / "client_stubs/python/pyproject.toml", "rb") as pyproject:
            python_version = tomllib.load(pyproject)["project"]["version"]
        pom = ElementTree.parse(repo / "client_stubs/java/pom.xml").getroot()
        java_version = pom.find("{http://maven.apache.org/POM/4.0.0}version").text.strip()
        changelog = re.search(r"^## (\S+)", (repo / "CHANGELOG.md").read_text(), re.MULTILINE).group(1)
        Extracted.load()
        places = {
            "client_stubs/python/pyproject.toml": python_version,
            "client_stubs/java/pom.xml": java_version,
            "CHANGELOG.md (newest entry)": changelog,
            "the .deb's Version": Extracted.control.get("Version"),
            "the .deb's file name": re.match(r"pcusage_([^_]+)_", Path(ARGS.deb).name).group(1),
        }
        for program in PROGRAMS:
            output = run([Extracted.program(program), "--version"]).stdout
            places[f"{program} --version"] = output.split()[1] if output.startswith(program + " ") else output
        disagreeing = {place: version for place, version in places.items() if version != expected}
        self.assertEqual(disagreeing, {}, f"VERSION is {expected}")

    def test_version_names_the_program_version_commit_and_build_mode_and_exits_0(self):
        for program in PROGRAMS:
            result = run([Extracted.program(program), "--version"])
            self.assertEqual(result.returncode, 0, f"{program}: {result.stderr}")
            expected = rf"{program} {re.escape(version_file())} \(commit ([0-9a-f]{{40}})(-dirty)?, opt build\)\n"
            match = re.fullmatch(expected, result.stdout)
            self.assertIsNotNone(match, result.stdout)
            # The commit the package was built from: HEAD, or one before it if a commit landed since.
            ancestor = run(["git", "-C", ARGS.repo, "merge-base", "--is-ancestor", match.group(1), "HEAD"])
            self.assertEqual(ancestor.returncode, 0, f"{match.group(1)} is not HEAD or one of its ancestors")

    def test_help_exits_0_and_describes_the_program(self):
        expected = {"pcusage_server": "--listen", "pcusage_cli": "--version", "pcusage_api_key": "usage: "}
        for program, text in expected.items():
            result = run([Extracted.program(program), "--help"])
            self.assertEqual(result.returncode, 0, f"{program} --help: {result.stderr}")
            self.assertIn(text, result.stdout, program)

    def test_an_unknown_flag_still_fails(self):
        result = run([Extracted.program("pcusage_server"), "--no_such_flag=1"])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("no_such_flag", result.stderr)


class ConfigurationTest(unittest.TestCase):
    """Abseil's flag files and environment flags, as docs/operations.md describes them, on the packaged server."""

    def setUp(self):
        self.server = Extracted.program("pcusage_server")
        self.directory = Path(tempfile.mkdtemp(prefix="pcusage-config-"))
        self.addCleanup(shutil.rmtree, self.directory, True)

    def serve_and_stop(self, arguments, port_file, env=None):
        """Starts the server, waits for it to write its port file, stops it with SIGTERM; returns the port."""
        with Processes(self.directory) as processes:
            server = processes.start("server", [self.server, *arguments], env=env)
            port = wait_for_file(port_file, server)
            server.send_signal(signal.SIGTERM)
            self.assertEqual(server.wait(timeout=60), 0, processes.log("server"))
        return int(port)

    def test_a_flag_file_sets_flags_and_a_later_one_wins(self):
        first, second = self.directory / "first.port", self.directory / "second.port"
        (self.directory / "a.flags").write_text(
            f"# comment lines and blank lines are skipped\n\n  --listen=127.0.0.1:0\n--port_file={first}\n")
        (self.directory / "b.flags").write_text(f"--port_file={second}\n")
        port = self.serve_and_stop(
            [f"--flagfile={self.directory / 'a.flags'}", f"--flagfile={self.directory / 'b.flags'}"], second)
        self.assertGreater(port, 0)
        self.assertFalse(first.exists(), "the later flag file's --port_file did not win")

    def test_fromenv_sets_the_flags_it_names_from_flags_variables(self):
        port_file = self.directory / "env.port"
        env = dict(os.environ, FLAGS_listen="127.0.0.1:0", FLAGS_port_file=str(port_file))
        self.assertGreater(self.serve_and_stop(["--fromenv=listen,port_file"], port_file, env), 0)

    def test_fromenv_fails_when_a_named_variable_is_unset(self):
        env = {k: v for k, v in os.environ.items() if k != "FLAGS_max_pages"}
        result = run([self.server, "--fromenv=max_pages", "--version"], env=env)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("FLAGS_max_pages", result.stderr)

    def test_tryfromenv_skips_an_unset_variable_and_reads_a_set_one(self):
        env = {k: v for k, v in os.environ.items() if k != "FLAGS_max_pages"}
        self.assertEqual(run([self.server, "--tryfromenv=max_pages", "--version"], env=env).returncode, 0)
        env["FLAGS_max_pages"] = "not-a-number"
        result = run([self.server, "--tryfromenv=max_pages", "--version"], env=env)
        self.assertNotEqual(result.returncode, 0, "FLAGS_max_pages was not read")
        self.assertIn("max_pages", result.stderr)

    def test_every_flag_of_the_example_file_exists_commented_ones_too(self):
        example = (Path(ARGS.repo) / "packaging/pcusage.flags").read_text()
        self.assertEqual(example, (Extracted.load() / "etc/pcusage/pcusage.flags").read_text())
        uncommented = self.directory / "uncommented.flags"
        uncommented.write_text(re.sub(r"^#--", "--", example, flags=re.MULTILINE))
        self.assertGreaterEqual(uncommented.read_text().count("\n--"), 10)
        for flag_file in (Extracted.load() / "etc/pcusage/pcusage.flags", uncommented):
            result = run([self.server, f"--flagfile={flag_file}", "--version"])
            self.assertEqual(result.returncode, 0, f"{flag_file}: {result.stderr}")
        broken = self.directory / "broken.flags"
        broken.write_text(example + "--no_such_flag=1\n")
        self.assertNotEqual(run([self.server, f"--flagfile={broken}", "--version"]).returncode, 0)


class DebTest(unittest.TestCase):
    """What tools/package put in the .deb."""

    def test_control_fields(self):
        Extracted.load()
        control = Extracted.control
        self.assertEqual(control.get("Package"), "pcusage")
        self.assertEqual(control.get("Architecture"), run(["dpkg", "--print-architecture"]).stdout.strip())
        self.assertEqual(Path(ARGS.deb).name, f"pcusage_{version_file()}_{control.get('Architecture')}.deb")
        depends = [d.strip().split(" ")[0] for d in control.get("Depends", "").split(",")]
        for library in ("libc6", "libstdc++6", "libgrpc++1.51", "libprotobuf32", "libabsl20220623", "libcurl4"):
            self.assertIn(library, depends)

    def test_the_flag_file_is_a_conffile_and_the_files_are_those_documented(self):
        with tempfile.TemporaryDirectory() as control_dir:
            self.assertEqual(run(["dpkg-deb", "-e", ARGS.deb, control_dir]).returncode, 0)
            self.assertEqual(Path(control_dir, "conffiles").read_text().split(), [str(FLAGS)])
        listing = run(["dpkg-deb", "--contents", ARGS.deb]).stdout.splitlines()
        entries = {line.split()[-1].lstrip("."): line.split()[0] for line in listing}
        files = {path for path, mode in entries.items() if mode.startswith("-")}
        self.assertEqual(files, {
            "/usr/bin/pcusage_server", "/usr/bin/pcusage_cli", "/usr/bin/pcusage_api_key", str(UNIT), str(FLAGS),
            "/usr/share/doc/pcusage/copyright", "/usr/share/doc/pcusage/changelog.gz",
            "/usr/share/doc/pcusage/operations.md"})
        self.assertEqual(entries["/etc/pcusage/credentials/"], "drwx------")
        for program in PROGRAMS:
            self.assertEqual(entries[f"/usr/bin/{program}"], "-rwxr-xr-x")


def machine_state():
    """What installing and removing the package could change: the package list and the watched paths."""
    packages = run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n"]).stdout
    paths = {}
    for path in WATCHED_PATHS:
        if os.path.lexists(path):
            paths[path] = run(["ls", "-laR", path]).stdout
    return {"packages": sorted(packages.splitlines()), "paths": paths}


class InstallTest(unittest.TestCase):
    """Installs the .deb, uses what it installed, removes it, and checks the machine is as it was. In order."""
    sudo = []
    before = None
    skip_reason = None  # why every step is skipped
    refusal = None  # why every step fails without touching the machine
    installed = False  # whether this test ran dpkg -i, and so must purge

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            if shutil.which("sudo") is None or run(["sudo", "-n", "true"]).returncode != 0:
                cls.skip_reason = "needs root or passwordless sudo to run dpkg -i"
                return
            cls.sudo = ["sudo", "-n"]
        status = run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "pcusage"]).stdout.strip()
        if status not in ("", "un"):
            cls.refusal = (f"a pcusage package is already on this machine (dpkg status {status}); the test installs "
                           "and purges its own and will not touch another")
            return
        cls.before = machine_state()

    @classmethod
    def tearDownClass(cls):
        # However the steps ended, the package this test installed does not stay.
        if cls.installed and run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "pcusage"]).stdout.strip() not in (
                "", "un"):
            run(cls.sudo + ["dpkg", "--purge", "pcusage"], timeout=120)

    def setUp(self):
        if self.skip_reason:
            self.skipTest(self.skip_reason)
        if self.refusal:
            self.fail(self.refusal)

    def dpkg_status(self):
        return run(["dpkg-query", "-W", "-f", "${Status} ${Version}", "pcusage"]).stdout.strip()

    def test_1_dpkg_installs_it(self):
        InstallTest.installed = True
        result = run(self.sudo + ["dpkg", "-i", ARGS.deb], timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(self.dpkg_status(), f"install ok installed {version_file()}")
        verify = run(["dpkg", "--verify", "pcusage"])
        self.assertEqual((verify.returncode, verify.stdout), (0, ""), "installed files differ from md5sums")
        self.assertEqual(oct(os.stat("/etc/pcusage/credentials").st_mode & 0o777), "0o700")
        for program in PROGRAMS:
            self.assertTrue(run([f"/usr/bin/{program}", "--version"]).stdout.startswith(f"{program} {version_file()} "))

    def test_2_the_installed_unit_verifies_and_is_hardened(self):
        self.assertTrue(UNIT.exists(), "not installed")
        verify = run(["systemd-analyze", "verify", str(UNIT)])
        self.assertEqual(verify.returncode, 0, verify.stderr)
        self.assertNotIn("pcusage.service", verify.stdout + verify.stderr)
        unit = UNIT.read_text()
        for directive in ("DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=pcusage",
                          "LoadCredential=pcusage:/etc/pcusage/credentials", "NoNewPrivileges=yes",
                          "ProtectHome=yes", "PrivateTmp=yes", "RestrictAddressFamilies=", "SystemCallFilter=",
                          f"ExecStart=/usr/bin/pcusage_server --flagfile={FLAGS}"):
            self.assertIn(f"\n{directive}", unit)
        # systemd's own rating, from 0 (locked down) to 10 (exposed); "OK" is below 2.
        security = run(["systemd-analyze", "security", "--offline=true", str(UNIT)])
        self.assertEqual(security.returncode, 0, security.stderr)
        rating = re.search(r"Overall exposure level for pcusage.service: ([0-9.]+) (\w+)", security.stdout)
        self.assertIsNotNone(rating, security.stdout)
        self.assertLess(float(rating.group(1)), 2.0, security.stdout)

    def test_3_the_installed_programs_serve_the_emulators_records(self):
        self.assertTrue(Path("/usr/bin/pcusage_server").exists(), "not installed")
        exec_start = re.search(r"^ExecStart=(.*)$", UNIT.read_text(), re.MULTILINE).group(1).split()
        with tempfile.TemporaryDirectory(prefix="pcusage-installed-") as directory, Processes(directory) as processes:
            directory = Path(directory)
            emulator = processes.start("emulator", [
                ARGS.emulator, "--port=0", f"--port_file={directory / 'emulator.port'}", "--dataset=generated",
                f"--customers={CUSTOMERS}", "--page_size=10", f"--access_token={EMULATOR_TOKEN}"])
            emulator_port = wait_for_file(directory / "emulator.port", emulator)
            token = directory / "access_token"
            token.write_text(EMULATOR_TOKEN + "\n")
            token.chmod(0o600)
            # The unit's own command line, the installed flag file included; the site file that follows it points
            # the server at the emulator with a static token, as an operator's would at Partner Center.
            site = directory / "site.flags"
            site.write_text("\n".join([
                "--listen=127.0.0.1:0", f"--port_file={directory / 'server.port'}",
                f"--partner_center_url=http://127.0.0.1:{emulator_port}", "--auth_mode=static",
                f"--access_token_file={token}", ""]))
            server = processes.start("server", exec_start + [f"--flagfile={site}"])
            server_port = wait_for_file(directory / "server.port", server)
            listing = run(["/usr/bin/pcusage_cli", "list", f"--server=127.0.0.1:{server_port}", "--format=jsonl",
                           "--page_size=7"], timeout=120)
            self.assertEqual(listing.returncode, 0, listing.stderr + processes.log("server"))
            records = [json.loads(line) for line in listing.stdout.splitlines()]
            self.assertEqual(len(records), CUSTOMERS, listing.stderr)
            self.assertEqual(len({record["resourceId"] for record in records}), CUSTOMERS)
            self.assertIn(f"{CUSTOMERS} records in ", listing.stderr)
            key_line = run(["/usr/bin/pcusage_api_key", "alice"], input="a-long-enough-api-key-0123\n")
            self.assertEqual(key_line.returncode, 0, key_line.stderr)
            self.assertRegex(key_line.stdout, r"^alice [0-9a-f]+ [0-9a-f]{64}\n$")
            server.send_signal(signal.SIGTERM)
            self.assertEqual(server.wait(timeout=60), 0, processes.log("server"))

    def test_4_dpkg_remove_keeps_the_changed_conffile(self):
        self.assertTrue(FLAGS.exists(), "not installed")
        with open(FLAGS, "a") as flags:
            flags.write("# changed by the package test\n")
        result = run(self.sudo + ["dpkg", "-r", "pcusage"], timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertTrue(self.dpkg_status().startswith("deinstall ok config-files"), self.dpkg_status())
        self.assertFalse(Path("/usr/bin/pcusage_server").exists())
        self.assertFalse(UNIT.exists())
        self.assertTrue(FLAGS.read_text().endswith("# changed by the package test\n"))

    def test_5_dpkg_purge_leaves_the_machine_as_it_was_found(self):
        # What the service leaves behind in use: a secret in the credentials folder and a rotated refresh token.
        Path("/etc/pcusage/credentials").mkdir(mode=0o700, parents=True, exist_ok=True)
        Path("/etc/pcusage/credentials/refresh_token").write_text("secret\n")
        Path("/var/lib/pcusage").mkdir(mode=0o700, exist_ok=True)
        Path("/var/lib/pcusage/refresh_token").write_text("rotated\n")
        result = run(self.sudo + ["dpkg", "--purge", "pcusage"], timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "pcusage"]).stdout.strip(), ("", "un"))
        after = machine_state()
        self.assertEqual(after["paths"], self.before["paths"])
        self.assertEqual(after["packages"], self.before["packages"])


class CountingResult(unittest.TextTestResult):
    """Counts passes too, for the summary line."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--deb", required=True)
    parser.add_argument("--emulator", required=True)
    parser.parse_args(namespace=ARGS)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(
        loader.loadTestsFromTestCase(case) for case in (VersionTest, ConfigurationTest, DebTest, InstallTest))
    try:
        result = unittest.TextTestRunner(resultclass=CountingResult, verbosity=2, stream=sys.stdout).run(suite)
    finally:
        Extracted.remove()
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    print(f"package: {result.passed} passed, {failed} failed, {len(result.skipped)} skipped")
    return 0 if failed == 0 and result.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
