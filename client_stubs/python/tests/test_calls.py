"""Call behaviour against the live stack: deadlines, cancellation, error details, resuming."""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from typing import Any

import grpc
import pytest

from conftest import Emulator, wait_until
from pcusage_client import CustomerMonthlyUsageRecord, UsageRecordsClient, error_details

# Generous guard against hangs; never a performance expectation.
HANG_GUARD_SECONDS = 20.0


def _ids(records: list[CustomerMonthlyUsageRecord]) -> list[str]:
    return [r.id for r in records]


def _page_requests(emulator: Emulator, page: int) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r.get("path") == "/v1/customers/usagerecords" and r.get("page") == page]


def test_deadline_bounds_the_call(client: UsageRecordsClient, faults) -> None:
    faults([{"page": 0, "times": -1, "fault": "slow_first_byte", "delay_ms": 4000}])
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as failure:
        with client.list_usage_records(timeout=0.5) as stream:
            list(stream)
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    assert error_details(failure.value).code == grpc.StatusCode.DEADLINE_EXCEEDED


def test_cancel_mid_stream_stops_the_stream(
    client: UsageRecordsClient, emulator: Emulator, raw_pages: list[dict[str, Any]], faults
) -> None:
    # Page 1 trickles in over 8 s, so the stream is certainly mid-way when it is cancelled.
    faults([{"page": 1, "fault": "slow_body", "chunk_ms": 50, "duration_ms": 8000}])
    emulator.reset_log()
    received: list[CustomerMonthlyUsageRecord] = []
    started = time.monotonic()
    with client.list_usage_records(timeout=60) as stream:
        for response in stream.responses():
            received.extend(response.usage_records)
            # Cancel from another thread while the loop waits for page 1, as a signal handler or UI would.
            threading.Timer(0.3, stream.cancel).start()
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    assert _ids(received) == [r["id"] for r in raw_pages[0]["items"]], "only page 0 arrives before the cancellation"

    # The server aborts page 1's transfer and asks for no further page.
    assert wait_until(lambda: any(r.get("completed") is False for r in _page_requests(emulator, 1))), (
        emulator.requests()
    )
    assert not _page_requests(emulator, 2)


def test_cancelled_call_reports_cancelled(client: UsageRecordsClient) -> None:
    stream = client.list_usage_records(timeout=60)
    responses = stream.responses()
    first = next(responses)
    assert first.usage_records
    stream.cancel()
    assert list(responses) == []  # Ends quietly: the caller asked for it.


def test_throttled_call_carries_retry_info(client: UsageRecordsClient, faults) -> None:
    faults([{"page": 0, "times": -1, "fault": "throttle", "retry_after": "600"}])
    with pytest.raises(grpc.RpcError) as failure:
        with client.list_usage_records(timeout=30) as stream:
            list(stream)
    details = error_details(failure.value)
    assert details.code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
    assert details.reason == "PARTNER_CENTER_RATE_LIMITED", details
    assert details.domain == "pcusage"
    assert details.retry_delay == datetime.timedelta(seconds=600), details
    assert details.correlation_id


def test_wrong_token_is_unauthenticated(channel: grpc.Channel) -> None:
    client = UsageRecordsClient(channel, access_token="not-the-emulator-token")
    with pytest.raises(grpc.RpcError) as failure:
        with client.list_usage_records(timeout=30) as stream:
            list(stream)
    details = error_details(failure.value)
    assert details.code == grpc.StatusCode.UNAUTHENTICATED, details
    assert details.reason == "PARTNER_CENTER_UNAUTHENTICATED", details
    assert details.retry_delay is None
    assert "not-the-emulator-token" not in details.message


def test_missing_token_is_unauthenticated(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        list(UsageRecordsClient(channel).list_usage_records(timeout=30))
    details = error_details(failure.value)
    assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, "ACCESS_TOKEN_MISSING")


def test_foreign_resume_token_is_invalid(client: UsageRecordsClient) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        list(client.list_usage_records(resume_token="not-a-token", timeout=30))
    details = error_details(failure.value)
    assert (details.code, details.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "RESUME_TOKEN_INVALID")


def test_negative_max_staleness_is_invalid(client: UsageRecordsClient) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        list(client.list_usage_records(max_staleness=datetime.timedelta(seconds=-1), timeout=30))
    details = error_details(failure.value)
    assert (details.code, details.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert "max_staleness" in failure.value.details()


def test_zero_max_staleness_is_a_fresh_walk(client: UsageRecordsClient, raw_pages: list[dict[str, Any]]) -> None:
    called_at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    with client.list_usage_records(max_staleness=datetime.timedelta(0), timeout=60) as stream:
        records = list(stream)
        assert stream.snapshot_time is not None and stream.snapshot_time >= called_at
        assert not stream.from_shared_snapshot
    assert _ids(records) == [r["id"] for page in raw_pages for r in page["items"]]


def test_resume_after_the_first_message_delivers_the_rest_exactly_once(
    client: UsageRecordsClient, raw_pages: list[dict[str, Any]]
) -> None:
    with client.list_usage_records(timeout=60) as stream:
        full = list(stream)
        assert stream.resume_token, "a finished stream has a token"

    with client.list_usage_records(page_size=10, timeout=60) as stream:
        first = next(stream.responses())  # Then leave: the context manager cancels the rest.
    assert len(first.usage_records) == min(10, len(raw_pages[0]["items"])) and first.resume_token
    assert first.HasField("partner_center_total_count")

    with client.list_usage_records(page_size=10, resume_token=first.resume_token, timeout=60) as rest:
        remaining = list(rest)
        assert rest.partner_center_total_count is not None
    assert _ids(list(first.usage_records) + remaining) == _ids(full)


def test_stream_resume_token_covers_only_records_moved_past(
    client: UsageRecordsClient, raw_pages: list[dict[str, Any]]
) -> None:
    with client.list_usage_records(timeout=60) as stream:
        full = list(stream)

    first_message = min(10, len(raw_pages[0]["items"]))
    seen: list[CustomerMonthlyUsageRecord] = []
    with client.list_usage_records(page_size=10, timeout=60) as stream:
        for record in stream:
            if len(seen) == first_message:
                # Moving on to the second message's first record has finished the first message.
                assert stream.resume_token
            else:
                assert not stream.resume_token
            seen.append(record)
            if len(seen) == first_message + 1:
                break
        token = stream.resume_token  # The first message is done; the second is half-read.

    with client.list_usage_records(page_size=10, resume_token=token, timeout=60) as rest:
        remaining = list(rest)
    assert _ids(seen[:first_message] + remaining) == _ids(full)


def test_correlation_id_is_sent_and_returned(client: UsageRecordsClient, emulator: Emulator) -> None:
    correlation_id = str(uuid.uuid4())
    emulator.reset_log()
    with client.list_usage_records(timeout=60, correlation_id=correlation_id) as stream:
        assert stream.correlation_id == correlation_id
        list(stream)
    sent = {r["headers"].get("ms-correlationid") for r in emulator.requests()}
    assert sent == {correlation_id}
