"""Calling ``ListUsageRecords`` with asyncio (``grpc.aio``): the twin of :mod:`pcusage_client.client`.

::

    async with open_aio_channel("127.0.0.1:50051") as channel:
        client = AsyncUsageRecordsClient(channel, access_token=token)
        async with client.list_usage_records(timeout=60) as stream:
            async for record in stream:
                ...
        async with client.watch_budgets(thresholds=[Decimal("80"), Decimal("100")]) as watch:
            async for event in watch:
                ...

A failure ends the iteration with a :class:`grpc.aio.AioRpcError`; :func:`pcusage_client.error_details` reads its
reason and retry delay as it does a sync call's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import grpc.aio

from pcusage_client._calls import (
    ClientBase,
    ReconnectPolicy,
    StartWatch,
    StreamProgress,
    WatchProgress,
    correlation_id_of,
)
from pcusage_client.v1 import CustomerMonthlyUsageRecord, ListUsageRecordsResponse, WatchBudgetsResponse

__all__ = ["AsyncBudgetWatch", "AsyncUsageRecordStream", "AsyncUsageRecordsClient"]


class AsyncUsageRecordStream(StreamProgress):
    """One ``ListUsageRecords`` call in progress on a ``grpc.aio`` channel.

    ``async for`` over it yields :class:`CustomerMonthlyUsageRecord` s, over :meth:`responses` whole messages. A
    failure ends the iteration with the :class:`grpc.aio.AioRpcError`; :meth:`cancel` ends it quietly (a cancelled
    task still sees :class:`asyncio.CancelledError`). Use it with ``async with`` so that leaving the block early
    cancels the call. A stream can be iterated once.
    """

    def __init__(self, call: grpc.aio.UnaryStreamCall) -> None:
        super().__init__()
        self._call = call
        self._iterated = False
        self._cancelled = False

    async def correlation_id(self) -> str | None:
        """The call's ``x-ms-correlation-id`` from the initial metadata (waits for it): quote it to support."""
        return correlation_id_of(await self._call.initial_metadata())

    async def responses(self) -> AsyncIterator[ListUsageRecordsResponse]:
        """Yields the stream's messages, each a batch of records with its own ``resume_token``."""
        if self._iterated:
            raise RuntimeError("an AsyncUsageRecordStream can be iterated only once")
        self._iterated = True
        try:
            async for response in self._call:
                self._received(response)
                yield response
                self._handled(response)
        except asyncio.CancelledError:
            # grpc.aio raises CancelledError for a call cancelled locally: quiet when cancel() did it, not when
            # the task itself is being cancelled.
            task = asyncio.current_task()
            if self._cancelled and (task is None or task.cancelling() == 0):
                return
            raise

    async def __aiter__(self) -> AsyncIterator[CustomerMonthlyUsageRecord]:
        async for response in self.responses():
            for record in response.usage_records:
                yield record

    def cancel(self) -> None:
        """Cancels the call: the server stops fetching pages, the iteration ends."""
        self._cancelled = True
        self._call.cancel()

    async def __aenter__(self) -> AsyncUsageRecordStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._call.done():
            self.cancel()


class AsyncBudgetWatch(WatchProgress):
    """A ``WatchBudgets`` watch on a ``grpc.aio`` channel: the twin of :class:`pcusage_client.BudgetWatch`.

    ``async for`` over it yields :class:`WatchBudgetsResponse` events: the level (``KIND_LEVEL``),
    ``initial_state_complete``, then edges and ``poll_failed``. Edges are exactly once within a stream and at least
    once across reconnects: a reconnected stream (see :class:`pcusage_client.ReconnectPolicy`; ``reconnects``
    counts them) starts with the level again, which replaces the state the last one built. A stream it does not
    reconnect ends the iteration with its :class:`grpc.aio.AioRpcError`; :meth:`cancel` ends it quietly (a
    cancelled task still sees :class:`asyncio.CancelledError`). Use it with ``async with`` so that leaving the
    block cancels the watch. A watch can be iterated once.
    """

    def __init__(self, start: StartWatch, policy: ReconnectPolicy, timeout: float | None) -> None:
        super().__init__(policy, timeout)
        self._start = start
        self._stopped = asyncio.Event()
        self._iterated = False
        self._call: grpc.aio.UnaryStreamCall = start(timeout)

    async def correlation_id(self) -> str | None:
        """The current stream's ``x-ms-correlation-id`` from its initial metadata (waits for it)."""
        return correlation_id_of(await self._call.initial_metadata())

    async def __aiter__(self) -> AsyncIterator[WatchBudgetsResponse]:
        if self._iterated:
            raise RuntimeError("an AsyncBudgetWatch can be iterated only once")
        self._iterated = True
        while True:
            try:
                async for response in self._call:
                    self._seen(response)
                    yield response
                return  # The server ended the stream with OK (it does not, by its contract): nothing more comes.
            except asyncio.CancelledError:
                # grpc.aio raises CancelledError for a call cancelled locally: quiet when cancel() did it, not when
                # the task itself is being cancelled.
                task = asyncio.current_task()
                if self._stopped.is_set() and (task is None or task.cancelling() == 0):
                    return
                raise
            except grpc.aio.AioRpcError as err:
                if self._stopped.is_set():
                    return
                delay = self._reconnect_delay(err)
                if delay is None:
                    raise
                try:
                    await asyncio.wait_for(self._stopped.wait(), delay)
                    return  # cancel() during the wait.
                except TimeoutError:
                    pass
                self._call = self._start(self._remaining())
                self._restarted()

    def cancel(self) -> None:
        """Cancels the watch: the stream ends, a reconnect wait is cut short, the iteration ends."""
        self._stopped.set()
        self._call.cancel()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cancel()


class AsyncUsageRecordsClient(ClientBase[AsyncUsageRecordStream, AsyncBudgetWatch]):
    """A ``grpc.aio`` client of pcusage's ``UsageRecordsService`` on a channel the caller owns (and closes).

    ``access_token`` and ``api_key`` are sent as :class:`pcusage_client.UsageRecordsClient` sends them. Open the
    channel with :func:`pcusage_client.open_aio_channel` for TLS and client certificates.
    :meth:`list_usage_records` returns an :class:`AsyncUsageRecordStream`, :meth:`watch_budgets` an
    :class:`AsyncBudgetWatch` (create the client, and call these, inside the event loop of the channel).
    """

    _stream_type = AsyncUsageRecordStream
    _watch_type = AsyncBudgetWatch
