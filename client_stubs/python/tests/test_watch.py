"""The budget watch against the live watch stack (PCUSAGE_WATCH_SERVER in front of PCUSAGE_WATCH_EMULATOR, shared
snapshots on, --min_watch_poll_interval=200ms): the level, initial_state_complete, then a crossing up and back down
made by editing the emulator's data set (restored afterwards, whatever happens). Every wait is bounded."""

from __future__ import annotations

import asyncio
import datetime
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import grpc
import pytest

from conftest import Emulator
from pcusage_client import (
    NO_RECONNECT,
    AsyncUsageRecordsClient,
    BudgetEvent,
    BudgetWatch,
    UsageRecordsClient,
    WatchBudgetsResponse,
    error_details,
    open_aio_channel,
    open_channel,
    to_decimal,
)

POLL = datetime.timedelta(milliseconds=300)
THRESHOLDS = [Decimal("80"), Decimal("100")]
# Bounds on each wait: generous guards against hangs, never performance expectations.
EVENT_WAIT_SECONDS = 20.0
WATCH_TIMEOUT_SECONDS = 90.0

ZERO = "00000000-c0de-4000-8000-000000000000"
MOVER = "3c6ef362-c0de-4002-8000-000000000002"
BIG = "daa66d13-c0de-4003-8000-000000000003"
OVER_BUDGET = "78dde6c4-c0de-4004-8000-000000000004"


@pytest.fixture
def watch_client(watch_server_address: str, watch_emulator: Emulator) -> Iterator[UsageRecordsClient]:
    with open_channel(watch_server_address) as channel:
        yield UsageRecordsClient(channel, access_token=watch_emulator.token)


@pytest.fixture
def mover_restored(watch_emulator: Emulator) -> Iterator[str]:
    """The mover's percent_used as the emulator had it; put back after the test, whatever happens."""
    (original,) = [r["percentUsed"] for r in watch_emulator.raw_items() if r.get("resourceId") == MOVER]
    try:
        yield original
    finally:
        watch_emulator.edit_dataset([{"resource_id": MOVER, "percent_used": original}])


def _next_event(
    events: Iterator[WatchBudgetsResponse],
    watch: BudgetWatch,
    wanted: Callable[[WatchBudgetsResponse], bool],
    what: str,
) -> tuple[WatchBudgetsResponse, list[WatchBudgetsResponse]]:
    """The next event ``wanted`` takes, and the events before it; the watch is cancelled if none comes in time."""
    guard = threading.Timer(EVENT_WAIT_SECONDS, watch.cancel)
    guard.daemon = True
    guard.start()
    before: list[WatchBudgetsResponse] = []
    try:
        for event in events:
            if wanted(event):
                return event, before
            before.append(event)
    finally:
        guard.cancel()
    pytest.fail(f"no {what} within {EVENT_WAIT_SECONDS} s; events meanwhile: {before}")


def _is_edge(event: WatchBudgetsResponse) -> bool:
    return event.HasField("budget_event")


def _summary(event: WatchBudgetsResponse) -> tuple[str, str, str, str, str | None]:
    budget = event.budget_event
    return (
        BudgetEvent.Kind.Name(budget.kind),
        budget.record.resource_id,
        budget.threshold.value,
        budget.record.percent_used.value,
        budget.previous_percent_used.value if budget.HasField("previous_percent_used") else None,
    )


def _expected_level(raw: list[dict[str, Any]]) -> list[tuple[str, str, str, str, None]]:
    """KIND_LEVEL for each customer (Partner Center's order) and each threshold it reaches (ascending), exactly."""
    level = []
    for record in raw:
        percent = record.get("percentUsed")
        for threshold in THRESHOLDS:
            if percent is not None and Decimal(percent) >= threshold:
                level.append(("KIND_LEVEL", record["resourceId"], str(threshold), percent, None))
    return level


def test_watch_sends_the_level_then_crossings_up_and_down(
    watch_client: UsageRecordsClient, watch_emulator: Emulator, mover_restored: str
) -> None:
    raw = watch_emulator.raw_items()
    expected_level = _expected_level(raw)
    at_both = {customer for _, customer, threshold, _, _ in expected_level if threshold == "100"}
    assert at_both == {ZERO, BIG, OVER_BUDGET}, expected_level
    assert MOVER not in {customer for _, customer, _, _, _ in expected_level}
    assert mover_restored == "42", "the watch data set is not as generated"

    with watch_client.watch_budgets(thresholds=THRESHOLDS, poll_interval=POLL, timeout=WATCH_TIMEOUT_SECONDS) as watch:
        events = iter(watch)
        complete, level = _next_event(events, watch, lambda e: e.HasField("initial_state_complete"), "level")
        level = [e for e in level if not e.HasField("poll_failed")]
        assert [_summary(e) for e in level] == expected_level
        assert complete.initial_state_complete.matching_customers == len(raw)
        by_customer = {e.budget_event.record.resource_id: e.budget_event.record.percent_used.value for e in level}
        assert by_customer[ZERO] == "120.5682999999995904716"
        assert by_customer[BIG].startswith("1234567890.1234567")
        assert by_customer[OVER_BUDGET] == "602.84"
        assert all(e.HasField("snapshot_time") for e in level)
        assert watch.correlation_id

        watch_emulator.edit_dataset([{"resource_id": MOVER, "percent_used": "85"}])
        up, meanwhile = _next_event(events, watch, _is_edge, "crossing up")
        assert all(e.HasField("poll_failed") for e in meanwhile), meanwhile
        assert _summary(up) == ("KIND_CROSSED_UP", MOVER, "80", "85", mover_restored)
        assert to_decimal(up.budget_event.previous_percent_used) == Decimal(42)

        watch_emulator.edit_dataset([{"resource_id": MOVER, "percent_used": mover_restored}])
        down, meanwhile = _next_event(events, watch, _is_edge, "crossing down")
        assert all(e.HasField("poll_failed") for e in meanwhile), meanwhile
        assert _summary(down) == ("KIND_CROSSED_DOWN", MOVER, "80", mover_restored, "85")
        assert watch.reconnects == 0


def test_aio_watch_sends_the_level(watch_server_address: str, watch_emulator: Emulator) -> None:
    expected_level = _expected_level(watch_emulator.raw_items())

    async def body() -> list[WatchBudgetsResponse]:
        async with open_aio_channel(watch_server_address) as channel:
            client = AsyncUsageRecordsClient(channel, access_token=watch_emulator.token)
            async with client.watch_budgets(thresholds=THRESHOLDS, poll_interval=POLL, timeout=60) as watch:
                received = []
                async for event in watch:
                    if event.HasField("initial_state_complete"):
                        assert await watch.correlation_id()
                        return received
                    if not event.HasField("poll_failed"):
                        received.append(event)
        raise AssertionError("the watch ended before initial_state_complete")

    level = asyncio.run(asyncio.wait_for(body(), EVENT_WAIT_SECONDS * 2))
    assert [_summary(e) for e in level] == expected_level


def test_poll_interval_below_the_servers_minimum_is_invalid(watch_client: UsageRecordsClient) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        list(watch_client.watch_budgets(poll_interval=datetime.timedelta(milliseconds=100), timeout=30))
    details = error_details(failure.value)
    assert (details.code, details.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert "poll_interval" in details.message


def test_server_without_shared_snapshots_refuses_watches(client: UsageRecordsClient) -> None:
    # PCUSAGE_SERVER runs with --snapshot_max_staleness=0. A permanent error: raised, never reconnected.
    with pytest.raises(grpc.RpcError) as failure:
        list(client.watch_budgets(poll_interval=datetime.timedelta(minutes=5), timeout=30, reconnect=NO_RECONNECT))
    details = error_details(failure.value)
    assert (details.code, details.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "WATCH_NEEDS_SHARED_SNAPSHOTS")
    with pytest.raises(grpc.RpcError) as failure:
        list(client.watch_budgets(poll_interval=datetime.timedelta(minutes=5), timeout=30))
    assert error_details(failure.value).code == grpc.StatusCode.FAILED_PRECONDITION
