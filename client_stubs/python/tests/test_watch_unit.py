"""The budget watch (sync and asyncio) against an in-process fake server: requests, event order, error mapping,
reconnecting (and its bound), cancellation. No stack needed."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import grpc
import grpc.aio
import pytest

from fake_server import HOLD, Fail, FakeServer, budget_event, complete, level, poll_failed
from pcusage_client import (
    NO_RECONNECT,
    AsyncUsageRecordsClient,
    BudgetEvent,
    ReconnectPolicy,
    UsageRecordsClient,
    WatchBudgetsResponse,
    error_details,
    open_aio_channel,
    open_channel,
    poll_failure_details,
)

A = "00000000-c0de-4000-8000-000000000000"
B = "3c6ef362-c0de-4002-8000-000000000002"
CORRELATION_ID = "5f0c3a8e-1d2b-4c3d-9e4f-123456789abc"
FAST = ReconnectPolicy(max_attempts=3, delay=datetime.timedelta(milliseconds=10))
# Generous guard against hangs; never a performance expectation.
HANG_GUARD_SECONDS = 20.0

LEVEL = [level(A, "80", "120.5"), level(A, "100", "120.5"), complete(2)]
UP = budget_event(BudgetEvent.KIND_CROSSED_UP, B, "80", "85", previous="42")
DOWN = budget_event(BudgetEvent.KIND_CROSSED_DOWN, B, "80", "42", previous="85")
DRAINING = Fail(grpc.StatusCode.UNAVAILABLE, "the server is shutting down", "SERVER_DRAINING")


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(fake: FakeServer) -> Iterator[UsageRecordsClient]:
    with open_channel(fake.address) as channel:
        yield UsageRecordsClient(channel, access_token="token", api_key="key")


def _take(events: Iterator[WatchBudgetsResponse], count: int) -> list[WatchBudgetsResponse]:
    return [next(events) for _ in range(count)]


def _cancel_later(cancel, seconds: float = HANG_GUARD_SECONDS) -> threading.Timer:
    """A hang guard: cancels the watch if the test is still waiting after ``seconds``."""
    timer = threading.Timer(seconds, cancel)
    timer.daemon = True
    timer.start()
    return timer


def test_watch_sends_the_request_and_yields_events_in_order(fake: FakeServer, client: UsageRecordsClient) -> None:
    fake.service.watch_scripts = [[*LEVEL, UP, DOWN, HOLD]]
    with client.watch_budgets(
        thresholds=[Decimal("80"), Decimal("100.0"), "8E+1", 95],
        customer_ids=[A, B.upper()],
        currency_codes=("EUR", "gbp"),
        poll_interval=datetime.timedelta(milliseconds=300),
        correlation_id=CORRELATION_ID,
        timeout=30,
    ) as watch:
        guard = _cancel_later(watch.cancel)
        events = iter(watch)
        assert _take(events, 5) == [*LEVEL, UP, DOWN]
        assert watch.correlation_id == CORRELATION_ID
        assert watch.reconnects == 0
        guard.cancel()
    (call,) = fake.service.watch_calls
    assert [t.value for t in call.request.thresholds] == ["80", "100.0", "8E+1", "95"]  # As spelled: exact text.
    assert list(call.request.customer_ids) == [A, B.upper()]
    assert list(call.request.currency_codes) == ["EUR", "gbp"]
    assert call.request.poll_interval.ToTimedelta() == datetime.timedelta(milliseconds=300)
    assert call.metadata["authorization"] == "Bearer token"
    assert call.metadata["x-api-key"] == "key"
    assert call.metadata["x-ms-correlation-id"] == CORRELATION_ID
    assert call.ended.wait(5), "leaving the block cancels the call"


def test_watch_defaults_leave_the_choice_to_the_server(fake: FakeServer, client: UsageRecordsClient) -> None:
    with client.watch_budgets() as watch:
        assert watch.correlation_id  # The server's own, from the initial metadata.
    (call,) = fake.service.watch_calls
    assert not call.request.thresholds and not call.request.customer_ids and not call.request.currency_codes
    assert not call.request.HasField("poll_interval")
    assert "x-ms-correlation-id" not in call.metadata


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"thresholds": [80.0]}, TypeError),
        ({"thresholds": [Decimal("80"), 100.5]}, TypeError),
        ({"thresholds": "80"}, TypeError),
        ({"thresholds": [True]}, TypeError),
        ({"thresholds": [Decimal("NaN")]}, ValueError),
        ({"thresholds": ["80%"]}, ValueError),
        ({"thresholds": [""]}, ValueError),
        ({"customer_ids": A}, TypeError),
        ({"currency_codes": "EUR"}, TypeError),
        ({"poll_interval": 300}, TypeError),
    ],
)
def test_watch_refuses_inexact_or_misshapen_arguments_before_calling(
    fake: FakeServer, client: UsageRecordsClient, arguments: dict, error: type[Exception]
) -> None:
    with pytest.raises(error):
        client.watch_budgets(**arguments)
    assert not fake.service.watch_calls


def test_permanent_error_ends_the_iteration_with_its_details(fake: FakeServer, client: UsageRecordsClient) -> None:
    denied = Fail(grpc.StatusCode.PERMISSION_DENIED, "Partner Center said 403", "PARTNER_CENTER_PERMISSION_DENIED")
    fake.service.watch_scripts = [[*LEVEL, denied]]
    received: list[WatchBudgetsResponse] = []
    with pytest.raises(grpc.RpcError) as failure, client.watch_budgets(reconnect=FAST, timeout=30) as watch:
        received.extend(watch)
    details = error_details(failure.value)
    assert (details.code, details.reason, details.domain) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "PARTNER_CENTER_PERMISSION_DENIED",
        "pcusage",
    )
    assert details.message == "Partner Center said 403"
    assert details.correlation_id == fake.service.watch_calls[0].correlation_id
    assert received == LEVEL
    assert len(fake.service.watch_calls) == 1, "only UNAVAILABLE is reconnected"


def test_poll_failed_events_pass_through_and_map_to_error_details(fake: FakeServer, client: UsageRecordsClient) -> None:
    failed = poll_failed(grpc.StatusCode.UNAVAILABLE, "PARTNER_CENTER_UNAVAILABLE", 2, datetime.timedelta(seconds=30))
    fake.service.watch_scripts = [[*LEVEL, failed, UP, HOLD]]
    with client.watch_budgets(timeout=30) as watch:
        events = _take(iter(watch), 5)
    assert events == [*LEVEL, failed, UP]
    details = poll_failure_details(events[3].poll_failed)
    assert details.code == grpc.StatusCode.UNAVAILABLE
    assert (details.reason, details.domain) == ("PARTNER_CENTER_UNAVAILABLE", "pcusage")
    assert details.message == "PARTNER_CENTER_UNAVAILABLE happened"
    assert details.retry_delay == datetime.timedelta(seconds=30)
    assert poll_failure_details(events[3].poll_failed.__class__(code=99)).code == grpc.StatusCode.UNKNOWN


def test_unavailable_reconnects_and_the_new_stream_starts_with_the_level(
    fake: FakeServer, client: UsageRecordsClient
) -> None:
    fake.service.watch_scripts = [[*LEVEL, UP, DRAINING], [*LEVEL, DOWN, HOLD]]
    with client.watch_budgets(
        thresholds=["80", "100"], correlation_id=CORRELATION_ID, reconnect=FAST, timeout=30
    ) as watch:
        guard = _cancel_later(watch.cancel)
        events = _take(iter(watch), 8)
        assert watch.reconnects == 1
        guard.cancel()
    # At least once across reconnects: the level comes again after the reconnect, then the new stream's edges.
    assert events == [*LEVEL, UP, *LEVEL, DOWN]
    first, second = fake.service.watch_calls
    assert first.request == second.request
    assert first.metadata == second.metadata, "the same credentials and correlation id on every stream"


def test_reconnects_are_bounded_in_a_row(fake: FakeServer, client: UsageRecordsClient) -> None:
    fake.service.watch_scripts = [[DRAINING]] * 4
    started = time.monotonic()
    received: list[WatchBudgetsResponse] = []
    with pytest.raises(grpc.RpcError) as failure, client.watch_budgets(reconnect=FAST, timeout=30) as watch:
        received.extend(watch)
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    assert error_details(failure.value).reason == "SERVER_DRAINING"
    assert received == []
    assert len(fake.service.watch_calls) == 4, "the first stream and 3 reconnects"
    assert watch.reconnects == 3


def test_a_whole_level_resets_the_count_of_reconnects_in_a_row(fake: FakeServer, client: UsageRecordsClient) -> None:
    one_attempt = ReconnectPolicy(max_attempts=1, delay=datetime.timedelta(milliseconds=10))
    # Two failures, but not in a row: the second stream delivered its whole level in between.
    fake.service.watch_scripts = [[DRAINING], [*LEVEL, DRAINING], [*LEVEL, HOLD]]
    with client.watch_budgets(reconnect=one_attempt, timeout=30) as watch:
        guard = _cancel_later(watch.cancel)
        assert _take(iter(watch), 6) == [*LEVEL, *LEVEL]
        guard.cancel()
    assert watch.reconnects == 2


def test_no_reconnect_raises_the_first_unavailable(fake: FakeServer, client: UsageRecordsClient) -> None:
    fake.service.watch_scripts = [[*LEVEL, DRAINING], [*LEVEL, HOLD]]
    with pytest.raises(grpc.RpcError) as failure, client.watch_budgets(reconnect=NO_RECONNECT, timeout=30) as watch:
        list(watch)
    assert error_details(failure.value).code == grpc.StatusCode.UNAVAILABLE
    assert len(fake.service.watch_calls) == 1


def test_server_bound_deadline_reconnects_but_the_callers_own_does_not(
    fake: FakeServer, client: UsageRecordsClient
) -> None:
    # The server's --max_watch_duration ends a stream with DEADLINE_EXCEEDED long before the caller's deadline.
    max_duration = Fail(
        grpc.StatusCode.DEADLINE_EXCEEDED, "the watch ran for --max_watch_duration", "CALL_DEADLINE_EXCEEDED"
    )
    fake.service.watch_scripts = [[*LEVEL, max_duration], [*LEVEL, HOLD]]
    with client.watch_budgets(reconnect=FAST) as watch:
        guard = _cancel_later(watch.cancel)
        assert _take(iter(watch), 6) == [*LEVEL, *LEVEL]
        guard.cancel()
    assert watch.reconnects == 1

    # The caller's own timeout ends the watch.
    fake.service.watch_scripts = [[*LEVEL, HOLD]]
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as failure, client.watch_budgets(reconnect=FAST, timeout=0.5) as watch:
        list(watch)
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    assert error_details(failure.value).code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert watch.reconnects == 0


def test_retry_info_lengthens_the_wait(fake: FakeServer, client: UsageRecordsClient) -> None:
    busy = Fail(grpc.StatusCode.UNAVAILABLE, "busy", "SERVER_DRAINING", retry_delay=datetime.timedelta(seconds=0.4))
    fake.service.watch_scripts = [[busy], [*LEVEL, HOLD]]
    started = time.monotonic()
    with client.watch_budgets(reconnect=FAST, timeout=30) as watch:
        assert _take(iter(watch), 3) == LEVEL
    assert time.monotonic() - started >= 0.4


def test_resource_exhausted_reconnects_only_with_retry_info(fake: FakeServer, client: UsageRecordsClient) -> None:
    # Another replica's stream limit, met when reconnecting after a drain: it says when to come back.
    full = Fail(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "the server already serves its streams",
        "STREAM_LIMIT_REACHED",
        retry_delay=datetime.timedelta(milliseconds=50),
    )
    fake.service.watch_scripts = [[*LEVEL, DRAINING], [full], [*LEVEL, HOLD]]
    with client.watch_budgets(reconnect=FAST, timeout=30) as watch:
        guard = _cancel_later(watch.cancel)
        assert _take(iter(watch), 6) == [*LEVEL, *LEVEL]
        guard.cancel()
    assert watch.reconnects == 2

    # Without a RetryInfo nothing says a new stream would fare better: raised.
    fake.service.watch_scripts = [[Fail(grpc.StatusCode.RESOURCE_EXHAUSTED, "no threads left")], [*LEVEL, HOLD]]
    with pytest.raises(grpc.RpcError) as failure, client.watch_budgets(reconnect=FAST, timeout=30) as watch:
        list(watch)
    assert error_details(failure.value).code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(fake.service.watch_calls) == 4


def test_cancel_from_another_thread_ends_the_iteration_quietly(fake: FakeServer, client: UsageRecordsClient) -> None:
    fake.service.watch_scripts = [[*LEVEL, HOLD]]
    watch = client.watch_budgets(timeout=30)
    received: list[WatchBudgetsResponse] = []
    started = time.monotonic()
    for event in watch:
        received.append(event)
        if event.HasField("initial_state_complete"):
            threading.Timer(0.2, watch.cancel).start()  # While the loop waits for the next event.
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    assert received == LEVEL
    assert fake.service.watch_calls[0].ended.wait(5), "the server sees the call end"


def test_cancel_cuts_a_reconnect_wait_short(fake: FakeServer, client: UsageRecordsClient) -> None:
    slow = ReconnectPolicy(max_attempts=3, delay=datetime.timedelta(seconds=60))
    fake.service.watch_scripts = [[*LEVEL, DRAINING]]
    watch = client.watch_budgets(reconnect=slow, timeout=120)
    events = iter(watch)
    received = [next(events)]  # The server has the call now.

    def cancel_once_the_stream_failed() -> None:
        fake.service.watch_calls[0].ended.wait(HANG_GUARD_SECONDS)
        time.sleep(0.2)  # The watch is now waiting 30 to 60 s before reconnecting.
        watch.cancel()

    threading.Thread(target=cancel_once_the_stream_failed, daemon=True).start()
    started = time.monotonic()
    received.extend(events)
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    assert received == LEVEL
    assert len(fake.service.watch_calls) == 1, "no new stream after cancel"


def test_watch_iterates_once(fake: FakeServer, client: UsageRecordsClient) -> None:
    fake.service.watch_scripts = [[*LEVEL, DRAINING]]
    with client.watch_budgets(reconnect=NO_RECONNECT, timeout=30) as watch:
        with pytest.raises(grpc.RpcError):
            list(watch)
        with pytest.raises(RuntimeError):
            list(watch)


@pytest.mark.parametrize(
    "arguments",
    [{"max_attempts": -1}, {"delay": datetime.timedelta(seconds=-1)}, {"max_delay": datetime.timedelta(seconds=-1)}],
)
def test_reconnect_policy_refuses_negative_values(arguments: dict) -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(**arguments)


# --- asyncio ---


def _aio(fake: FakeServer, body) -> None:
    async def run() -> None:
        async with open_aio_channel(fake.address) as channel:
            await asyncio.wait_for(body(AsyncUsageRecordsClient(channel, access_token="token")), HANG_GUARD_SECONDS)

    asyncio.run(run())


def test_aio_watch_yields_events_in_order_and_reconnects(fake: FakeServer) -> None:
    fake.service.watch_scripts = [[*LEVEL, UP, DRAINING], [*LEVEL, DOWN, HOLD]]

    async def body(client: AsyncUsageRecordsClient) -> None:
        async with client.watch_budgets(
            thresholds=[Decimal("80"), "100"], customer_ids=[B], reconnect=FAST, correlation_id=CORRELATION_ID
        ) as watch:
            events = []
            async for event in watch:
                events.append(event)
                if len(events) == 8:
                    break
            assert await watch.correlation_id() == CORRELATION_ID
            assert watch.reconnects == 1
        assert events == [*LEVEL, UP, *LEVEL, DOWN]

    _aio(fake, body)
    first, second = fake.service.watch_calls
    assert [t.value for t in first.request.thresholds] == ["80", "100"]
    assert first.request == second.request and first.metadata == second.metadata
    assert second.ended.wait(5), "leaving the block cancels the call"


def test_aio_permanent_error_and_bounded_reconnects_raise_aio_errors(fake: FakeServer) -> None:
    denied = Fail(grpc.StatusCode.UNAUTHENTICATED, "token expired", "PARTNER_CENTER_UNAUTHENTICATED")
    full = Fail(grpc.StatusCode.RESOURCE_EXHAUSTED, "full", "STREAM_LIMIT_REACHED", datetime.timedelta(milliseconds=5))
    fake.service.watch_scripts = [[*LEVEL, denied], [DRAINING], [full], [DRAINING], [DRAINING]]

    async def body(client: AsyncUsageRecordsClient) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            async for _ in client.watch_budgets(reconnect=FAST):
                pass
        assert error_details(failure.value).reason == "PARTNER_CENTER_UNAUTHENTICATED"
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            async for _ in client.watch_budgets(reconnect=FAST):
                pass
        details = error_details(failure.value)
        assert (details.code, details.reason) == (grpc.StatusCode.UNAVAILABLE, "SERVER_DRAINING")

    _aio(fake, body)
    assert len(fake.service.watch_calls) == 5, "1 permanent failure, then 1 stream and 3 reconnects"


def test_aio_cancel_ends_quietly_and_a_cancelled_task_still_sees_cancelled_error(fake: FakeServer) -> None:
    fake.service.watch_scripts = [[*LEVEL, HOLD], [*LEVEL, HOLD], [*LEVEL, DRAINING]]

    async def body(client: AsyncUsageRecordsClient) -> None:
        watch = client.watch_budgets()
        received = []
        async for event in watch:
            received.append(event)
            if event.HasField("initial_state_complete"):
                asyncio.get_running_loop().call_later(0.2, watch.cancel)
        assert received == LEVEL

        async def consume() -> None:
            async with client.watch_budgets() as held:
                async for _ in held:
                    pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        # Cancelling during a reconnect wait ends the iteration at once.
        slow = ReconnectPolicy(max_attempts=3, delay=datetime.timedelta(seconds=60))
        waiting = client.watch_budgets(reconnect=slow)

        async def cancel_once_the_stream_failed() -> None:
            while len(fake.service.watch_calls) < 3 or not fake.service.watch_calls[2].ended.is_set():
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # The watch is now waiting 30 to 60 s before reconnecting.
            waiting.cancel()

        canceller = asyncio.create_task(cancel_once_the_stream_failed())
        assert [event async for event in waiting] == LEVEL
        await canceller

    _aio(fake, body)
    assert len(fake.service.watch_calls) == 3
    assert all(call.ended.wait(5) for call in fake.service.watch_calls)


def test_aio_watch_refuses_a_float_threshold(fake: FakeServer) -> None:
    async def body(client: AsyncUsageRecordsClient) -> None:
        with pytest.raises(TypeError):
            client.watch_budgets(thresholds=[80.0])

    _aio(fake, body)
    assert not fake.service.watch_calls
