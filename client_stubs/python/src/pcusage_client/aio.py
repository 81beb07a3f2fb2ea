"""Calling ``ListUsageRecords`` with asyncio (``grpc.aio``): the twin of :mod:`pcusage_client.client`.

::

    async with open_aio_channel("127.0.0.1:50051") as channel:
        client = AsyncUsageRecordsClient(channel, access_token=token)
        async with client.list_usage_records(timeout=60) as stream:
            async for record in stream:
                ...

A failure ends the iteration with a :class:`grpc.aio.AioRpcError`; :func:`pcusage_client.error_details` reads its
reason and retry delay as it does a sync call's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType

import grpc.aio

from pcusage_client._calls import ClientBase, StreamProgress, correlation_id_of
from pcusage_client.v1 import CustomerMonthlyUsageRecord, ListUsageRecordsResponse

__all__ = ["AsyncUsageRecordStream", "AsyncUsageRecordsClient"]


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


class AsyncUsageRecordsClient(ClientBase[AsyncUsageRecordStream]):
    """A ``grpc.aio`` client of pcusage's ``UsageRecordsService`` on a channel the caller owns (and closes).

    ``access_token`` and ``api_key`` are sent as :class:`pcusage_client.UsageRecordsClient` sends them. Open the
    channel with :func:`pcusage_client.open_aio_channel` for TLS and client certificates.
    :meth:`list_usage_records` returns an :class:`AsyncUsageRecordStream`.
    """

    _stream_type = AsyncUsageRecordStream
