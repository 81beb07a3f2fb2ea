"""Calling ``ListUsageRecords`` on a sync channel: a deadline on every call, records as a plain iterator,
cancellation, resuming, and the caller's credentials (Partner Center token, pcusage API key) as metadata.
:mod:`pcusage_client.aio` is the same over ``grpc.aio``.

::

    with open_channel("pcusage.example:50051", tls=TlsOptions(ca_file="ca.pem")) as channel:
        client = UsageRecordsClient(channel, access_token=token, api_key=key)
        with client.list_usage_records(timeout=60) as stream:
            for record in stream:
                ...
        with client.watch_budgets(thresholds=[Decimal("80"), Decimal("100")]) as watch:
            for event in watch:
                ...
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Protocol, Self

import grpc

from pcusage_client._calls import (
    DEFAULT_TIMEOUT,
    ClientBase,
    ReconnectPolicy,
    StartWatch,
    StreamProgress,
    WatchProgress,
    correlation_id_of,
)
from pcusage_client.v1 import CustomerMonthlyUsageRecord, ListUsageRecordsResponse, WatchBudgetsResponse

__all__ = ["DEFAULT_TIMEOUT", "BudgetWatch", "UsageRecordStream", "UsageRecordsClient"]


class _ResponseCall(Protocol):
    """What grpcio's server-streaming call object offers (it is a grpc.Call and an iterator of responses)."""

    def __iter__(self) -> Iterator[ListUsageRecordsResponse]: ...

    def __next__(self) -> ListUsageRecordsResponse: ...

    def cancel(self) -> bool: ...

    def is_active(self) -> bool: ...

    def initial_metadata(self) -> Sequence[tuple[str, str | bytes]] | None: ...


class _WatchCall(Protocol):
    """A ``WatchBudgets`` call: a grpc.Call and an iterator of events."""

    def __iter__(self) -> Iterator[WatchBudgetsResponse]: ...

    def cancel(self) -> bool: ...

    def is_active(self) -> bool: ...

    def initial_metadata(self) -> Sequence[tuple[str, str | bytes]] | None: ...


class UsageRecordStream(StreamProgress):
    """One ``ListUsageRecords`` call in progress.

    Iterate it for :class:`CustomerMonthlyUsageRecord` s, or :meth:`responses` for whole messages. A failure ends
    the iteration with the :class:`grpc.RpcError` (read it with :func:`pcusage_client.error_details`);
    :meth:`cancel` ends it quietly. Use it as a context manager so that leaving the block early cancels the call.
    A stream can be iterated once.
    """

    def __init__(self, call: _ResponseCall) -> None:
        super().__init__()
        self._call = call
        self._lock = threading.Lock()
        self._iterated = False
        self._cancelled = False

    @property
    def correlation_id(self) -> str | None:
        """The call's ``x-ms-correlation-id`` from the initial metadata (waits for it): quote it to support."""
        return correlation_id_of(self._call.initial_metadata())

    def responses(self) -> Iterator[ListUsageRecordsResponse]:
        """Yields the stream's messages, each a batch of records with its own ``resume_token``."""
        with self._lock:
            if self._iterated:
                raise RuntimeError("a UsageRecordStream can be iterated only once")
            self._iterated = True
        try:
            for response in self._call:
                self._received(response)
                yield response
                self._handled(response)
        except grpc.RpcError as err:
            if self._cancelled and isinstance(err, grpc.Call) and err.code() == grpc.StatusCode.CANCELLED:
                return
            raise

    def __iter__(self) -> Iterator[CustomerMonthlyUsageRecord]:
        for response in self.responses():
            yield from response.usage_records

    def cancel(self) -> None:
        """Cancels the call (from any thread): the server stops fetching pages, the iteration ends."""
        self._cancelled = True
        self._call.cancel()

    def __enter__(self) -> UsageRecordStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._call.is_active():
            self.cancel()


class BudgetWatch(WatchProgress):
    """A ``WatchBudgets`` watch in progress: one stream, or several when it reconnects (see :class:`ReconnectPolicy`).

    Iterate it for :class:`WatchBudgetsResponse` events, in the server's order: the level (``budget_event`` of
    ``KIND_LEVEL``), ``initial_state_complete``, then edges (``KIND_CROSSED_UP``, ``KIND_CROSSED_DOWN``,
    ``KIND_GONE``) and ``poll_failed``. Edges are exactly once within a stream and at least once across
    reconnects: a reconnected stream starts with the level again (``reconnects`` counts them), so a ``KIND_LEVEL``
    event after ``initial_state_complete`` means a new level is coming, which replaces the state the last one
    built. Iteration blocks between polls; it ends with the :class:`grpc.RpcError` of a stream it does not
    reconnect (read it with :func:`pcusage_client.error_details`), and quietly after :meth:`cancel`. Use it as a
    context manager so that leaving the block cancels the watch. A watch can be iterated once.
    """

    def __init__(self, start: StartWatch, policy: ReconnectPolicy, timeout: float | None) -> None:
        super().__init__(policy, timeout)
        self._start = start
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._iterated = False
        self._call: _WatchCall = start(timeout)

    @property
    def correlation_id(self) -> str | None:
        """The current stream's ``x-ms-correlation-id`` from its initial metadata (waits for it)."""
        with self._lock:
            call = self._call
        return correlation_id_of(call.initial_metadata())

    def __iter__(self) -> Iterator[WatchBudgetsResponse]:
        with self._lock:
            if self._iterated:
                raise RuntimeError("a BudgetWatch can be iterated only once")
            self._iterated = True
        while True:
            with self._lock:
                call = self._call
            try:
                for response in call:
                    self._seen(response)
                    yield response
                return  # The server ended the stream with OK (it does not, by its contract): nothing more comes.
            except grpc.RpcError as err:
                if self._stopped.is_set():
                    return
                delay = self._reconnect_delay(err)
                if delay is None:
                    raise
                if self._stopped.wait(delay):
                    return
                with self._lock:
                    if self._stopped.is_set():
                        return
                    self._call = self._start(self._remaining())
                    self._restarted()

    def cancel(self) -> None:
        """Cancels the watch (from any thread): the stream ends, a reconnect wait is cut short, iteration ends."""
        with self._lock:
            self._stopped.set()
            call = self._call
        call.cancel()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cancel()


class UsageRecordsClient(ClientBase[UsageRecordStream, BudgetWatch]):
    """A client of pcusage's ``UsageRecordsService`` on a sync channel the caller owns (and closes).

    ``access_token`` is the Partner Center App+User token sent as ``authorization: Bearer`` metadata; leave it
    unset when the server holds its own token (``--access_token_file``). ``api_key`` is this caller's pcusage API
    key, sent as ``x-api-key`` metadata to a server started with ``--api_keys_file`` (send it over TLS or
    loopback only). Open the channel with :func:`pcusage_client.open_channel` for TLS and client certificates.
    :meth:`list_usage_records` returns a :class:`UsageRecordStream`, :meth:`watch_budgets` a :class:`BudgetWatch`.
    """

    _stream_type = UsageRecordStream
    _watch_type = BudgetWatch
