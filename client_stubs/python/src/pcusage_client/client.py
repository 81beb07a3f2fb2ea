"""Calling ``ListUsageRecords``: a deadline on every call, records as a plain iterator, cancellation, resuming.

::

    with grpc.insecure_channel("127.0.0.1:50051") as channel:
        client = UsageRecordsClient(channel, access_token=token)
        with client.list_usage_records(timeout=60) as stream:
            for record in stream:
                ...
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Protocol

import grpc

from pcusage_client.v1 import (
    CustomerMonthlyUsageRecord,
    ListUsageRecordsRequest,
    ListUsageRecordsResponse,
    UsageRecordsServiceStub,
)

__all__ = ["DEFAULT_TIMEOUT", "UsageRecordStream", "UsageRecordsClient"]

DEFAULT_TIMEOUT = 60.0
"""Seconds a call may take unless told otherwise: the deadline bounds the whole stream."""

CORRELATION_ID_HEADER = "x-ms-correlation-id"


class _ResponseCall(Protocol):
    """What grpcio's server-streaming call object offers (it is a grpc.Call and an iterator of responses)."""

    def __iter__(self) -> Iterator[ListUsageRecordsResponse]: ...

    def __next__(self) -> ListUsageRecordsResponse: ...

    def cancel(self) -> bool: ...

    def is_active(self) -> bool: ...

    def initial_metadata(self) -> Sequence[tuple[str, str | bytes]] | None: ...


class UsageRecordStream:
    """One ``ListUsageRecords`` call in progress.

    Iterate it for :class:`CustomerMonthlyUsageRecord` s, or :meth:`responses` for whole messages. A failure ends
    the iteration with the :class:`grpc.RpcError` (read it with :func:`pcusage_client.error_details`);
    :meth:`cancel` ends it quietly. Use it as a context manager so that leaving the block early cancels the call.
    A stream can be iterated once.
    """

    def __init__(self, call: _ResponseCall) -> None:
        self._call = call
        self._lock = threading.Lock()
        self._iterated = False
        self._cancelled = False
        self._resume_token = ""
        self._total_count: int | None = None
        self._snapshot_time: datetime.datetime | None = None
        self._from_shared_snapshot = False

    @property
    def resume_token(self) -> str:
        """Where to resume: the token of the last message whose records the iteration has moved past.

        Pass it to :meth:`UsageRecordsClient.list_usage_records` after a failure to continue without receiving a
        record twice. Empty until the first message is done (resume then means starting over).
        """
        return self._resume_token

    @property
    def partner_center_total_count(self) -> int | None:
        """Partner Center's ``totalCount`` once the first message arrived; not the number of records (count them)."""
        return self._total_count

    @property
    def snapshot_time(self) -> datetime.datetime | None:
        """When the walk of Partner Center these records come from started (UTC), once the first message arrived."""
        return self._snapshot_time

    @property
    def from_shared_snapshot(self) -> bool:
        """Whether the records come from a list another call fetched (a shared snapshot), once the first arrived."""
        return self._from_shared_snapshot

    @property
    def correlation_id(self) -> str | None:
        """The call's ``x-ms-correlation-id`` from the initial metadata (waits for it): quote it to support."""
        for key, value in self._call.initial_metadata() or ():
            if key == CORRELATION_ID_HEADER:
                return value.decode() if isinstance(value, bytes) else value
        return None

    def responses(self) -> Iterator[ListUsageRecordsResponse]:
        """Yields the stream's messages, each a batch of records with its own ``resume_token``."""
        with self._lock:
            if self._iterated:
                raise RuntimeError("a UsageRecordStream can be iterated only once")
            self._iterated = True
        try:
            for response in self._call:
                if response.HasField("partner_center_total_count"):
                    self._total_count = response.partner_center_total_count
                if response.HasField("snapshot_time"):
                    self._snapshot_time = response.snapshot_time.ToDatetime(tzinfo=datetime.timezone.utc)
                    self._from_shared_snapshot = response.from_shared_snapshot
                yield response
                self._resume_token = response.resume_token
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


class UsageRecordsClient:
    """A client of pcusage's ``UsageRecordsService`` on a channel the caller owns (and closes).

    ``access_token`` is the Partner Center App+User token sent as ``authorization: Bearer`` metadata; leave it
    unset when the server holds its own token (``--access_token_file``).
    """

    def __init__(self, channel: grpc.Channel, *, access_token: str | None = None) -> None:
        self._stub = UsageRecordsServiceStub(channel)
        self._access_token = access_token

    @property
    def stub(self) -> UsageRecordsServiceStub:
        """The generated stub, for calls this class does not shape."""
        return self._stub

    def list_usage_records(
        self,
        *,
        page_size: int = 0,
        resume_token: str = "",
        timeout: float | None = DEFAULT_TIMEOUT,
        correlation_id: str | None = None,
        max_staleness: datetime.timedelta | None = None,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> UsageRecordStream:
        """Starts streaming every customer's usage record.

        ``timeout`` (seconds) is the deadline of the whole stream; ``None`` leaves it to the server's bound (1 h).
        ``resume_token`` continues an earlier stream after its last fully processed message. ``correlation_id``
        (a GUID) is sent to Partner Center as MS-CorrelationId; the server makes one up when it is absent.
        ``max_staleness`` is how old a list the server fetched for another call may be and still serve this one:
        zero asks for a fresh walk of Partner Center, ``None`` lets the server choose (its default is 5 minutes).
        """
        call_metadata = list(metadata)
        if self._access_token:
            call_metadata.append(("authorization", f"Bearer {self._access_token}"))
        if correlation_id:
            call_metadata.append((CORRELATION_ID_HEADER, correlation_id))
        request = ListUsageRecordsRequest(page_size=page_size, resume_token=resume_token)
        if max_staleness is not None:
            request.max_staleness.FromTimedelta(max_staleness)
        call = self._stub.ListUsageRecords(request, timeout=timeout, metadata=call_metadata)
        return UsageRecordStream(call)
