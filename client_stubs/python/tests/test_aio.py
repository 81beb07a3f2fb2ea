"""The asyncio client (grpc.aio) against the live stack: records, error details, cancellation, resuming."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

import grpc
import grpc.aio
import pytest

from conftest import Emulator
from pcusage_client import (
    AsyncUsageRecordsClient,
    CustomerMonthlyUsageRecord,
    ErrorDetails,
    error_details,
    open_aio_channel,
)


def _ids(records: list[CustomerMonthlyUsageRecord]) -> list[str]:
    return [r.id for r in records]


async def _failure(server_address: str, **client_args: Any) -> tuple[grpc.aio.AioRpcError, ErrorDetails]:
    """The error a listing ends with, and its details (the call must fail)."""
    async with open_aio_channel(server_address) as channel:
        client = AsyncUsageRecordsClient(channel, **client_args)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            async with client.list_usage_records(timeout=30) as stream:
                async for _ in stream:
                    pass
    return failure.value, error_details(failure.value)


def test_aio_stream_delivers_every_record(
    server_address: str, emulator: Emulator, raw_records: list[dict[str, Any]]
) -> None:
    correlation_id = str(uuid.uuid4())

    async def body() -> None:
        async with open_aio_channel(server_address) as channel:
            client = AsyncUsageRecordsClient(channel, access_token=emulator.token)
            async with client.list_usage_records(page_size=7, timeout=60, correlation_id=correlation_id) as stream:
                records = [record async for record in stream]
                assert await stream.correlation_id() == correlation_id
                assert stream.resume_token, "a finished stream has a token"
                assert stream.snapshot_time is not None and stream.partner_center_total_count is not None
        assert _ids(records) == [r["id"] for r in raw_records]
        exact = {r.id: r.total_cost.value for r in records if r.HasField("total_cost")}
        assert "120.5682999999995904716" in exact.values()

    asyncio.run(body())


def test_aio_wrong_token_has_reason(server_address: str) -> None:
    error, details = asyncio.run(_failure(server_address, access_token="not-the-emulator-token"))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert details.code == grpc.StatusCode.UNAUTHENTICATED, details
    assert details.reason == "PARTNER_CENTER_UNAUTHENTICATED", details
    assert details.domain == "pcusage"
    assert "not-the-emulator-token" not in details.message


def test_aio_missing_token_has_reason(server_address: str) -> None:
    _, details = asyncio.run(_failure(server_address))
    assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, "ACCESS_TOKEN_MISSING")


def test_aio_throttled_call_carries_retry_info(server_address: str, emulator: Emulator, faults) -> None:
    faults([{"page": 0, "times": -1, "fault": "throttle", "retry_after": "600"}])
    _, details = asyncio.run(_failure(server_address, access_token=emulator.token))
    assert (details.code, details.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "PARTNER_CENTER_RATE_LIMITED")
    assert details.retry_delay == datetime.timedelta(seconds=600), details
    assert details.correlation_id


def test_aio_deadline_has_no_reason(server_address: str, emulator: Emulator, faults) -> None:
    faults([{"page": 0, "times": -1, "fault": "slow_first_byte", "delay_ms": 4000}])

    async def body() -> ErrorDetails:
        async with open_aio_channel(server_address) as channel:
            client = AsyncUsageRecordsClient(channel, access_token=emulator.token)
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                async for _ in client.list_usage_records(timeout=0.5):
                    pass
        return error_details(failure.value)

    details = asyncio.run(body())
    assert (details.code, details.reason) == (grpc.StatusCode.DEADLINE_EXCEEDED, None)


def test_aio_cancel_ends_the_iteration_quietly(server_address: str, emulator: Emulator) -> None:
    async def body() -> None:
        async with open_aio_channel(server_address) as channel:
            client = AsyncUsageRecordsClient(channel, access_token=emulator.token)
            stream = client.list_usage_records(page_size=5, timeout=60)
            messages = 0
            async for response in stream.responses():
                messages += 1
                assert response.usage_records
                stream.cancel()
            assert messages == 1
            assert stream.resume_token, "the message handled before the cancellation counts"

    asyncio.run(body())


def test_aio_cancelled_task_still_sees_cancelled_error(server_address: str, emulator: Emulator, faults) -> None:
    faults([{"page": 0, "times": -1, "fault": "slow_first_byte", "delay_ms": 4000}])

    async def body() -> None:
        async with open_aio_channel(server_address) as channel:
            client = AsyncUsageRecordsClient(channel, access_token=emulator.token)

            async def consume() -> None:
                async with client.list_usage_records(timeout=30) as stream:
                    async for _ in stream:
                        pass

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(body())


def test_aio_resume_after_the_first_message_delivers_the_rest_exactly_once(
    server_address: str, emulator: Emulator, raw_records: list[dict[str, Any]]
) -> None:
    async def body() -> list[CustomerMonthlyUsageRecord]:
        async with open_aio_channel(server_address) as channel:
            client = AsyncUsageRecordsClient(channel, access_token=emulator.token)
            async with client.list_usage_records(page_size=10, timeout=60) as stream:
                responses = stream.responses()
                first = await anext(responses)
                await responses.aclose()
            assert first.resume_token  # Leaving the block cancelled the rest.
            async with client.list_usage_records(page_size=10, resume_token=first.resume_token, timeout=60) as rest:
                return list(first.usage_records) + [record async for record in rest]

    assert _ids(asyncio.run(body())) == [r["id"] for r in raw_records]


def test_aio_stream_iterates_once(server_address: str, emulator: Emulator) -> None:
    async def body() -> None:
        async with open_aio_channel(server_address) as channel:
            client = AsyncUsageRecordsClient(channel, access_token=emulator.token)
            async with client.list_usage_records(timeout=60) as stream:
                assert [r async for r in stream]
                with pytest.raises(RuntimeError):
                    async for _ in stream:
                        pass

    asyncio.run(body())
