"""Fixtures for the tests against a live stack: a pcusage server and the Partner Center emulator behind it.

The stack comes from ``tools/with_stack`` (PCUSAGE_SERVER, PCUSAGE_EMULATOR, PCUSAGE_EMULATOR_TOKEN); without it
the live tests fail (they are never skipped). The tests share one emulator, so they run serially, and every test
that arms a fault clears it again (the ``faults`` fixture).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import grpc
import pytest

from pcusage_client import UsageRecordsClient

# The most pages the raw listing follows before it calls the emulator's paging a loop.
_MAX_RAW_PAGES = 1000


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

    def reset_log(self) -> None:
        with self._request("POST", "/emulator/reset", b""):
            pass

    def requests(self) -> list[dict[str, Any]]:
        """The request log: one entry per usage-records request since the last reset."""
        with self._request("GET", "/emulator/requests") as response:
            return json.load(response)

    def raw_pages(self) -> list[dict[str, Any]]:
        """Every page of GET /v1/customers/usagerecords, following links.next, numbers parsed as exact Decimals."""
        pages: list[dict[str, Any]] = []
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        path = "/v1/customers/usagerecords"
        while True:
            with self._request("GET", path, headers=headers) as response:
                page = json.loads(response.read().decode("utf-8"), parse_float=Decimal, parse_int=Decimal)
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
