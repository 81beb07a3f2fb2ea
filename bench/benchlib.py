"""Shared by the benchmarks in bench/ (compare, snapshots): processes that die with the bench, the builds they
need (Go programs into bench/.bin/, venvs, Bazel binaries), /proc readings, and the stand-in upstream and server.
"""

from __future__ import annotations

import ctypes
import dataclasses
import decimal
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
BIN = BENCH / ".bin"
VENV = BENCH / ".venv"
CLIENT_VENV = REPO / "client_stubs" / "python" / ".venv"
TOKEN = "bench-token"

PROGRAM = ["bench"]  # the name progress lines start with; each bench sets its own


class BenchFailure(Exception):
    """A run failed or disagreed with the upstream: the bench stops, loudly."""


def log(message: str) -> None:
    print(f"{PROGRAM[0]}: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Processes: every one started is stopped at the end, and dies with this script if it is killed outright.

_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Processes:
    """The processes this script started and has not yet stopped."""

    def __init__(self) -> None:
        self._running: list[subprocess.Popen] = []

    def start(self, argv: list[str], **kwargs) -> subprocess.Popen:
        # A session of its own: Ctrl-C reaches only this script, which then stops the children in order.
        process = subprocess.Popen(
            [str(a) for a in argv], start_new_session=True, preexec_fn=_die_with_parent, **kwargs
        )
        self._running.append(process)
        return process

    def forget(self, process: subprocess.Popen) -> None:
        if process in self._running:
            self._running.remove(process)

    def stop(self, process: subprocess.Popen, grace_s: float = 10) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.forget(process)

    def stop_all(self) -> None:
        for process in reversed(list(self._running)):
            self.stop(process)


def interrupt(signum: int, _frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# ---------------------------------------------------------------------------------------------------------------
# Setup: Go programs, venvs, Bazel binaries.


def run_checked(argv: list, cwd: Path = REPO, env: dict | None = None, what: str = "") -> str:
    result = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise BenchFailure(f"{what or argv[0]} failed (exit {result.returncode}): {' '.join(map(str, argv))}")
    return result.stdout


def go_binary() -> Path:
    path_file = REPO / "third_party" / "go.path"
    if not path_file.is_file():
        raise BenchFailure(f"{path_file} is missing: run bazel/setup, which installs Go and names it there")
    go = Path(path_file.read_text().strip())
    if not os.access(go, os.X_OK):
        raise BenchFailure(f"{path_file} names {go}, which is not an executable")
    version = run_checked([go, "env", "GOVERSION"], what="go env").strip()
    match = re.match(r"go(\d+)\.(\d+)", version)
    if not match or (int(match[1]), int(match[2])) < (1, 24):
        raise BenchFailure(f"{go} is {version}; bench/ needs Go >= 1.24")
    return go


def build_go_programs() -> None:
    go = go_binary()
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=readonly", GOWORK="off")
    BIN.mkdir(exist_ok=True)
    log("building the Go programs into bench/.bin/")
    run_checked([go, "build", "-o", BIN / "upstream", "."], cwd=BENCH / "upstream", env=env, what="go build")
    run_checked(
        [go, "build", "-o", BIN / "transfer-limit", "./cmd/transfer-limit"],
        cwd=BENCH / "upstream",
        env=env,
        what="go build",
    )
    run_checked([go, "build", "-o", BIN / "goclient", "."], cwd=BENCH / "goclient", env=env, what="go build")
    run_checked([go, "build", "-o", BIN / "replayserver", "./cmd/replayserver"], cwd=BENCH / "goclient", env=env,
                what="go build")
    run_checked([go, "build", "-o", BIN / "attack", "./cmd/attack"], cwd=BENCH / "goclient", env=env, what="go build")


def ensure_bench_venv() -> None:
    """bench/.venv with the pins of bench/requirements.txt, (re)installed only when they changed."""
    python = VENV / "bin" / "python"
    if not python.exists() or subprocess.run([python, "-c", "pass"], capture_output=True).returncode != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        log("creating bench/.venv")
        if subprocess.run([sys.executable, "-m", "venv", VENV]).returncode != 0:
            raise BenchFailure("python3 -m venv failed: install Debian's python3-venv")
    requirements = BENCH / "requirements.txt"
    stamp = VENV / ".bench-installed"
    want = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != want:
        log("installing bench/requirements.txt into bench/.venv (from PyPI)")
        run_checked(
            [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-input", "-r", requirements],
            what="pip install",
        )
        stamp.write_text(want + "\n")


def ensure_client_venv() -> None:
    run_checked([REPO / "client_stubs" / "python" / "setup"], what="client_stubs/python/setup")


@dataclasses.dataclass
class Build:
    bin_dir: Path
    mode: str  # Bazel's compilation mode, from the output directory's name (k8-fastbuild -> fastbuild)
    command: str


def shell_environment() -> dict:
    """This script's environment with PATH as the calling shell had it.

    A pyenv shim running python3 puts its own directories before PATH; Bazel passes PATH into every action, so
    with them `bazel build` would rebuild everything here, and again in the shell afterwards.
    """
    env = dict(os.environ)
    root = env.get("PYENV_ROOT")
    if root:

        def added_by_pyenv(d: str) -> bool:
            return (d.startswith(f"{root}/versions/") or d == f"{root}/libexec"
                    or (d.startswith(f"{root}/plugins/") and d.endswith("/bin")))  # fmt: skip

        env["PATH"] = os.pathsep.join(d for d in env.get("PATH", "").split(os.pathsep) if not added_by_pyenv(d))
    return env


def bazel_build(opt: bool, targets: list[str]) -> Build:
    # --symlink_prefix=/ leaves bazel-bin pointing at the default build.
    mode_flags = ["-c", "opt", "--symlink_prefix=/"] if opt else []
    command = " ".join(["bazel", "build", "--jobs=1", *mode_flags, *targets])
    log(f"building: {command}")
    env = shell_environment()
    run_checked(["bazel", "build", "--jobs=1", *mode_flags, *targets], env=env, what="bazel build")
    info_flags = ["-c", "opt"] if opt else []
    bin_dir = Path(run_checked(["bazel", "info", *info_flags, "bazel-bin"], env=env, what="bazel info").strip())
    config = bin_dir.parent.name  # e.g. k8-fastbuild
    mode = config.split("-", 1)[1] if "-" in config else config
    for target in targets:
        path = bin_dir / target.lstrip("/").replace(":", "/")
        if not os.access(path, os.X_OK):
            raise BenchFailure(f"bazel built no {path}")
    return Build(bin_dir=bin_dir, mode=mode, command=command)


# ---------------------------------------------------------------------------------------------------------------
# Measuring.


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict:
    """Threads, open fds and RSS (MiB) of `pid` now; empty once it is gone."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return {"threads": int(fields["Threads"]), "fds": fds, "rss_mib": int(fields["VmRSS"].split()[0]) / 1024}


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise BenchFailure(f"no VmHWM in /proc/{pid}/status")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_port(port_file: Path, process: subprocess.Popen, what: str, log_file: Path, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return int(port_file.read_text())
        if process.poll() is not None:
            raise BenchFailure(f"{what} exited with status {process.returncode}:\n{tail(log_file)}")
        time.sleep(0.05)
    raise BenchFailure(f"{what} wrote no port to {port_file} in {timeout_s:.0f} s:\n{tail(log_file)}")


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_upstream(processes: Processes, work: Path, records: int, page_size: int) -> tuple[subprocess.Popen, str, dict]:
    """bench/upstream serving `records` in pages of `page_size`; returns it, its URL and its /bench/expected."""
    port_file = work / f"upstream-{records}.port"
    log_file = work / f"upstream-{records}.log"
    with open(log_file, "wb") as log_out:
        process = processes.start(
            [BIN / "upstream", f"--records={records}", f"--page_size={page_size}",
             "--listen=127.0.0.1:0", f"--port_file={port_file}"],
            stdout=subprocess.DEVNULL, stderr=log_out,
        )  # fmt: skip
    port = wait_for_port(port_file, process, "bench/upstream", log_file, timeout_s=1800)
    url = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(f"{url}/bench/expected", timeout=60) as response:
        expected = json.loads(response.read())
    return process, url, expected


def upstream_requests(url: str) -> int:
    """How many usage-records pages bench/upstream has served."""
    with urllib.request.urlopen(f"{url}/bench/requests", timeout=60) as response:
        return int(json.loads(response.read())["usage_requests"])


def start_server(processes: Processes, work: Path, build: Build, name: str, upstream_url: str,
                 extra_flags: list[str], binary: Path | None = None) -> tuple[subprocess.Popen, int]:
    """pcusage_server (the build's, or `binary`) in static token mode against `upstream_url`; returns it and its
    port."""
    token_file = work / "access_token"
    token_file.write_text(TOKEN + "\n")
    port_file = work / f"server-{name}.port"
    port_file.unlink(missing_ok=True)
    log_file = work / f"server-{name}.log"
    with open(log_file, "wb") as log_out:
        process = processes.start(
            [binary or build.bin_dir / "server" / "pcusage_server", "--listen=127.0.0.1:0",
             f"--port_file={port_file}", f"--partner_center_url={upstream_url}",
             f"--access_token_file={token_file}", "--max_call_duration=3h", "--page_timeout=10m",
             "--max_pages=10000000", *extra_flags],
            stdout=log_out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, wait_for_port(port_file, process, f"pcusage_server ({name})", log_file, timeout_s=60)


def check_result(label: str, result: dict, expected: dict, summing: bool) -> None:
    """The run's record count, and for a summing run the per-currency counts and exact totals, must match."""
    if result.get("records") != expected["records"]:
        raise BenchFailure(f"MISMATCH: {label} got {result.get('records')} records, the upstream has "
                           f"{expected['records']}")  # fmt: skip
    if not summing:
        return
    if result.get("counts") != expected["counts"]:
        raise BenchFailure(f"MISMATCH: {label} per-currency record counts {result.get('counts')} != the upstream's "
                           f"{expected['counts']}")  # fmt: skip
    got, want = result.get("totals") or {}, expected["totals"]
    if set(got) != set(want):
        raise BenchFailure(f"MISMATCH: {label} summed currencies {sorted(got)}, the upstream has {sorted(want)}")
    for key in sorted(want):
        if decimal.Decimal(got[key]) != decimal.Decimal(want[key]):
            raise BenchFailure(f"MISMATCH: {label} total of {key} is {got[key]}, the upstream's is {want[key]}")


def git_revision() -> str:
    result = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    return (result.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"
