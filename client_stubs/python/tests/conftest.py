"""Fixtures for the tests against a live stack: a pcusage server and the Partner Center emulator behind it.

The stack comes from ``tools/with_stack`` (PCUSAGE_SERVER, PCUSAGE_EMULATOR, PCUSAGE_EMULATOR_TOKEN, and for budget
watches PCUSAGE_WATCH_SERVER and PCUSAGE_WATCH_EMULATOR); without it the live tests fail (they are never skipped). The
tests share one emulator, so they run serially, and every test that arms a fault clears it again (the ``faults``
fixture); a test that edits the watch emulator's data set puts it back.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest

from pcusage_client import UsageRecordsClient

# The most pages the raw listing follows before it calls the emulator's paging a loop.
_MAX_RAW_PAGES = 1000

PACKAGE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = PACKAGE_DIR.parent.parent
# Built by tools/with_stack before it runs the suite.
SERVER_BINARY = REPO_ROOT / "bazel-bin" / "server" / "pcusage_server"


@dataclass(frozen=True)
class Emulator:
    """The Partner Center emulator's HTTP API, called directly (not through pcusage)."""

    address: str
    token: str

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
        request = urllib.request.Request(
            f"http://{self.address}{path}", data=body, method=method, headers=headers or {}
        )
        return urllib.request.urlopen(request, timeout=30)

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        """Replaces the fault script (``[]`` clears it) and restarts its counts."""
        with self._request(
            "POST", "/emulator/faults", json.dumps(rules).encode(), {"Content-Type": "application/json"}
        ) as response:
            assert response.status == 200, response.read()

    def edit_dataset(self, edits: list[dict[str, Any]]) -> None:
        """Edits the generated data set (POST /emulator/dataset; no token needed), e.g. a customer's percent_used."""
        with self._request(
            "POST", "/emulator/dataset", json.dumps(edits).encode(), {"Content-Type": "application/json"}
        ) as response:
            assert response.status == 200, response.read()

    def raw_items(self) -> list[dict[str, Any]]:
        """Every record of GET /v1/customers/usagerecords, numbers kept as the exact text the emulator sent."""
        items: list[dict[str, Any]] = []
        for page in self.raw_pages(parse=lambda text: json.loads(text, parse_float=str, parse_int=str)):
            items.extend(page["items"])
        return items

    def reset_log(self) -> None:
        with self._request("POST", "/emulator/reset", b""):
            pass

    def requests(self) -> list[dict[str, Any]]:
        """The request log: one entry per usage-records request since the last reset."""
        with self._request("GET", "/emulator/requests") as response:
            return json.load(response)

    def raw_pages(self, parse: Callable[[str], Any] | None = None) -> list[dict[str, Any]]:
        """Every page of GET /v1/customers/usagerecords, following links.next, numbers parsed as exact Decimals
        (or as ``parse`` parses a page's text)."""
        pages: list[dict[str, Any]] = []
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        path = "/v1/customers/usagerecords"
        while True:
            with self._request("GET", path, headers=headers) as response:
                text = response.read().decode("utf-8")
                page = parse(text) if parse else json.loads(text, parse_float=Decimal, parse_int=Decimal)
            pages.append(page)
            following = (page.get("links") or {}).get("next")
            if not following:
                return pages
            assert len(pages) < _MAX_RAW_PAGES, "the emulator's paging does not end"
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
            for header in following.get("headers") or []:
                headers[header["key"]] = header["value"]
            path = following["uri"]


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests through tools/with_stack (see README.md)", pytrace=False)
    return value


@pytest.fixture(scope="session")
def server_address() -> str:
    return _required_env("PCUSAGE_SERVER")


@pytest.fixture(scope="session")
def emulator() -> Emulator:
    return Emulator(address=_required_env("PCUSAGE_EMULATOR"), token=_required_env("PCUSAGE_EMULATOR_TOKEN"))


@pytest.fixture(scope="session")
def watch_server_address() -> str:
    """A pcusage server with shared snapshots on and --min_watch_poll_interval=200ms, for budget watches."""
    return _required_env("PCUSAGE_WATCH_SERVER")


@pytest.fixture(scope="session")
def watch_emulator() -> Emulator:
    """The watch server's own emulator: 6 generated customers in one page, a data set tests may edit (and restore)."""
    return Emulator(address=_required_env("PCUSAGE_WATCH_EMULATOR"), token=_required_env("PCUSAGE_EMULATOR_TOKEN"))


@pytest.fixture(scope="session")
def channel(server_address: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server_address) as channel:
        yield channel


@pytest.fixture(scope="session")
def client(channel: grpc.Channel, emulator: Emulator) -> UsageRecordsClient:
    """A client that sends the emulator's token (the test server passes callers' tokens through)."""
    return UsageRecordsClient(channel, access_token=emulator.token)


@pytest.fixture(scope="session")
def raw_pages(emulator: Emulator) -> list[dict[str, Any]]:
    """Every page of the emulator's raw JSON, read with no fault armed."""
    emulator.set_faults([])
    pages = emulator.raw_pages()
    assert len(pages) >= 2 and pages[0]["items"], "the stack should serve several non-empty pages"
    return pages


@pytest.fixture(scope="session")
def raw_records(raw_pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every record as the emulator's raw JSON has it."""
    return [item for page in raw_pages for item in page["items"]]


@pytest.fixture
def faults(emulator: Emulator) -> Iterator[Callable[[list[dict[str, Any]]], None]]:
    """Arms a fault script for one test and always clears it afterwards."""
    emulator.set_faults([])
    try:
        yield emulator.set_faults
    finally:
        emulator.set_faults([])


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Polls ``predicate`` until it holds or ``timeout`` seconds pass (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@contextlib.contextmanager
def pcusage_server(emulator: Emulator, *flags: str) -> Iterator[int]:
    """Runs a pcusage_server of this test's own (``flags`` added) in front of the emulator; yields its port.

    It listens on a free loopback port, passes callers' tokens through to the emulator, and is stopped on exit;
    its log is shown when it fails to start.
    """
    if not SERVER_BINARY.is_file():
        pytest.fail(f"{SERVER_BINARY} is missing: run the tests through tools/with_stack", pytrace=False)
    with tempfile.TemporaryDirectory(prefix="pcusage-py-server-") as work:
        port_file, log_path = Path(work) / "port", Path(work) / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [
                    str(SERVER_BINARY),
                    "--listen=127.0.0.1:0",
                    f"--port_file={port_file}",
                    f"--partner_center_url=http://{emulator.address}",
                    "--snapshot_max_staleness=0",
                    *flags,
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            started = wait_until(lambda: process.poll() is not None or _port_written(port_file), timeout=30)
            if process.poll() is not None or not started:
                pytest.fail(f"pcusage_server {' '.join(flags)} did not start:\n{log_path.read_text()}", pytrace=False)
            yield int(port_file.read_text())
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _port_written(port_file: Path) -> bool:
    return port_file.is_file() and port_file.read_text().strip().isdigit()


@dataclass(frozen=True)
class Certificate:
    """A PEM certificate and its key, as files."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class Pki:
    """A test CA, a server certificate it signed for ``SERVER_NAME`` only, and client certificates it signed."""

    SERVER_NAME = "pcusage.test"

    directory: Path
    ca: Certificate
    server: Certificate
    other_ca: Certificate

    def client(self, name: str, ca: Certificate | None = None) -> Certificate:
        """A client certificate with subject CN ``name``, signed by ``ca`` (the test CA by default)."""
        return _signed(self.directory, name, ca or self.ca, "clientAuth", f"DNS:{name}")


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()


def _new_ca(directory: Path, name: str) -> Certificate:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    return Certificate(cert, key)


def _signed(directory: Path, name: str, ca: Certificate, usage: str, alt_names: str) -> Certificate:
    cert, key, csr, ext = (directory / f"{name}{suffix}" for suffix in (".pem", ".key", ".csr", ".ext"))
    ext.write_text(f"subjectAltName={alt_names}\nextendedKeyUsage={usage}\n")
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca.cert_file), "-CAkey", str(ca.key_file), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext),
        cwd=directory,
    )  # fmt: skip
    return Certificate(cert, key)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates made at test time with the openssl CLI; the server's names only ``Pki.SERVER_NAME``."""
    directory = tmp_path_factory.mktemp("pki")
    ca = _new_ca(directory, "test-ca")
    server = _signed(directory, "server", ca, "serverAuth", f"DNS:{Pki.SERVER_NAME}")
    return Pki(directory=directory, ca=ca, server=server, other_ca=_new_ca(directory, "other-ca"))
