"""What the sync and the ``grpc.aio`` clients share: a call's request and metadata, and a stream's progress."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio

from pcusage_client.v1 import ListUsageRecordsRequest, ListUsageRecordsResponse, UsageRecordsServiceStub

DEFAULT_TIMEOUT = 60.0
"""Seconds a call may take unless told otherwise: the deadline bounds the whole stream."""

CORRELATION_ID_HEADER = "x-ms-correlation-id"
API_KEY_HEADER = "x-api-key"


class StreamProgress:
    """What a ``ListUsageRecords`` stream has told so far; shared by the sync and the ``grpc.aio`` stream."""

    def __init__(self) -> None:
        self._resume_token = ""
        self._total_count: int | None = None
        self._snapshot_time: datetime.datetime | None = None
        self._from_shared_snapshot = False

    @property
    def resume_token(self) -> str:
        """Where to resume: the token of the last message whose records the iteration has moved past.

        Pass it to ``list_usage_records`` after a failure to continue without receiving a record twice. Empty until
        the first message is done (resume then means starting over).
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

    def _received(self, response: ListUsageRecordsResponse) -> None:
        """Notes what a message tells about the whole stream, before it is handed out."""
        if response.HasField("partner_center_total_count"):
            self._total_count = response.partner_center_total_count
        if response.HasField("snapshot_time"):
            self._snapshot_time = response.snapshot_time.ToDatetime(tzinfo=datetime.timezone.utc)
            self._from_shared_snapshot = response.from_shared_snapshot

    def _handled(self, response: ListUsageRecordsResponse) -> None:
        """Notes that the caller moved past a message: resuming continues after it."""
        self._resume_token = response.resume_token


def correlation_id_of(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The ``x-ms-correlation-id`` of a call's initial metadata."""
    for key, value in metadata or ():
        if key == CORRELATION_ID_HEADER:
            return value.decode() if isinstance(value, bytes) else value
    return None


def call_metadata(
    *,
    access_token: str | None,
    api_key: str | None,
    correlation_id: str | None,
    metadata: Sequence[tuple[str, str]],
) -> list[tuple[str, str]]:
    """The metadata of one call: the caller's own entries, then its credentials and correlation id."""
    entries = list(metadata)
    if access_token:
        entries.append(("authorization", f"Bearer {access_token}"))
    if api_key:
        entries.append((API_KEY_HEADER, api_key))
    if correlation_id:
        entries.append((CORRELATION_ID_HEADER, correlation_id))
    return entries


def list_request(
    *, page_size: int, resume_token: str, max_staleness: datetime.timedelta | None
) -> ListUsageRecordsRequest:
    """The request of one ``ListUsageRecords`` call."""
    request = ListUsageRecordsRequest(page_size=page_size, resume_token=resume_token)
    if max_staleness is not None:
        request.max_staleness.FromTimedelta(max_staleness)
    return request


Stream = TypeVar("Stream")


class ClientBase(Generic[Stream]):
    """A client of pcusage's ``UsageRecordsService``: the stub, the caller's credentials, and the one call.

    Subclasses name the stream type their channel's calls are wrapped in (sync or ``grpc.aio``).
    """

    _stream_type: Callable[[Any], Stream]

    def __init__(
        self, channel: grpc.Channel | grpc.aio.Channel, *, access_token: str | None = None, api_key: str | None = None
    ) -> None:
        self._stub = UsageRecordsServiceStub(channel)
        self._access_token = access_token
        self._api_key = api_key

    @property
    def stub(self) -> UsageRecordsServiceStub:
        """The generated stub, for calls the client does not shape (on a ``grpc.aio`` channel, its calls are aio)."""
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
    ) -> Stream:
        """Starts streaming every customer's usage record.

        ``timeout`` (seconds) is the deadline of the whole stream; ``None`` leaves it to the server's bound (1 h).
        ``resume_token`` continues an earlier stream after its last fully processed message. ``correlation_id``
        (a GUID) is sent to Partner Center as MS-CorrelationId; the server makes one up when it is absent.
        ``max_staleness`` is how old a list the server fetched for another call may be and still serve this one:
        zero asks for a fresh walk of Partner Center, ``None`` lets the server choose (its default is 5 minutes).
        ``metadata`` is sent with the call besides the credentials.
        """
        call = self._stub.ListUsageRecords(
            list_request(page_size=page_size, resume_token=resume_token, max_staleness=max_staleness),
            timeout=timeout,
            metadata=call_metadata(
                access_token=self._access_token, api_key=self._api_key, correlation_id=correlation_id, metadata=metadata
            ),
        )
        return self._stream_type(call)
