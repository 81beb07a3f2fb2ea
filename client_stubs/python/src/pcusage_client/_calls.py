"""What the sync and the ``grpc.aio`` clients share: a call's request and metadata, and a stream's progress."""

from __future__ import annotations

import dataclasses
import datetime
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio

from pcusage_client.decimals import DecimalInput, to_proto_decimal
from pcusage_client.errors import error_details
from pcusage_client.v1 import (
    ListUsageRecordsRequest,
    ListUsageRecordsResponse,
    UsageRecordsServiceStub,
    WatchBudgetsRequest,
    WatchBudgetsResponse,
)

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


def _strings(name: str, values: Iterable[str]) -> list[str]:
    """A list filter's entries: any iterable of strings, but not one string (whose characters would be the list)."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} takes a list of strings, not one string: {name}=[{values!r}]")
    entries = list(values)
    for entry in entries:
        if not isinstance(entry, str):
            raise TypeError(f"{name} takes strings, got {type(entry).__name__}")
    return entries


def list_request(
    *,
    page_size: int,
    resume_token: str,
    max_staleness: datetime.timedelta | None,
    customer_ids: Iterable[str] = (),
    currency_codes: Iterable[str] = (),
    min_percent_used: DecimalInput | None = None,
    only_with_budget: bool = False,
) -> ListUsageRecordsRequest:
    """The request of one ``ListUsageRecords`` call (raises TypeError / ValueError for filter values of a wrong kind)."""
    request = ListUsageRecordsRequest(
        page_size=page_size,
        resume_token=resume_token,
        customer_ids=_strings("customer_ids", customer_ids),
        currency_codes=_strings("currency_codes", currency_codes),
        only_with_budget=only_with_budget,
    )
    if max_staleness is not None:
        request.max_staleness.FromTimedelta(max_staleness)
    if min_percent_used is not None:
        request.min_percent_used.CopyFrom(to_proto_decimal(min_percent_used))
    return request


def watch_request(
    *,
    thresholds: Iterable[DecimalInput],
    customer_ids: Iterable[str],
    currency_codes: Iterable[str],
    poll_interval: datetime.timedelta | None,
) -> WatchBudgetsRequest:
    """The request of one ``WatchBudgets`` call (raises TypeError / ValueError for values of a wrong kind)."""
    if isinstance(thresholds, (str, bytes)):
        raise TypeError(f"thresholds takes a list of values, not one string: thresholds=[{thresholds!r}]")
    request = WatchBudgetsRequest(
        thresholds=[to_proto_decimal(threshold) for threshold in thresholds],
        customer_ids=_strings("customer_ids", customer_ids),
        currency_codes=_strings("currency_codes", currency_codes),
    )
    if poll_interval is not None:
        if not isinstance(poll_interval, datetime.timedelta):
            raise TypeError(f"poll_interval takes a datetime.timedelta, got {type(poll_interval).__name__}")
        request.poll_interval.FromTimedelta(poll_interval)
    return request


@dataclasses.dataclass(frozen=True)
class ReconnectPolicy:
    """When a budget watch starts a new ``WatchBudgets`` stream by itself, and how long it waits first.

    A stream that ends with ``UNAVAILABLE`` (the server drains, a replica restarts, the connection drops), with
    ``DEADLINE_EXCEEDED`` while the watch's own deadline is more than a second away (the server's
    ``--max_watch_duration``), or with ``RESOURCE_EXHAUSTED`` carrying a ``RetryInfo`` (the server's stream limits,
    ``STREAM_LIMIT_REACHED`` and ``CALLER_STREAM_LIMIT_REACHED``), is started again after ``delay``, doubling with each attempt in a row up to
    ``max_delay``, each wait jittered down by up to half (and never shorter than a ``RetryInfo`` delay the error
    carries); at most ``max_attempts`` attempts in a row, counted until a new stream has sent its whole level
    (``initial_state_complete``). Any other error, or one more failure, ends the iteration with that error.
    ``max_attempts=0`` turns reconnecting off.
    """

    max_attempts: int = 5
    delay: datetime.timedelta = datetime.timedelta(seconds=1)
    max_delay: datetime.timedelta = datetime.timedelta(seconds=30)

    def __post_init__(self) -> None:
        if self.max_attempts < 0:
            raise ValueError("ReconnectPolicy.max_attempts must not be negative")
        if self.delay < datetime.timedelta(0) or self.max_delay < datetime.timedelta(0):
            raise ValueError("ReconnectPolicy delays must not be negative")


DEFAULT_RECONNECT = ReconnectPolicy()
"""The default policy: up to 5 attempts in a row, waiting about 1, 2, 4, 8 and 16 seconds."""

NO_RECONNECT = ReconnectPolicy(max_attempts=0)
"""A policy that never reconnects: the first error ends the iteration."""

# A DEADLINE_EXCEEDED this close to the watch's own deadline is that deadline's, not the server's bound.
_OWN_DEADLINE_MARGIN = 1.0


class WatchProgress:
    """The reconnect bookkeeping of a budget watch; shared by the sync and the ``grpc.aio`` watch."""

    def __init__(self, policy: ReconnectPolicy, timeout: float | None) -> None:
        self._policy = policy
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._attempts_in_a_row = 0
        self._reconnects = 0

    @property
    def reconnects(self) -> int:
        """How many times this watch started a new stream after a failure (each new stream begins with the level)."""
        return self._reconnects

    def _seen(self, response: WatchBudgetsResponse) -> None:
        """Notes a message: a whole level means the reconnect (if any) succeeded."""
        if response.WhichOneof("event") == "initial_state_complete":
            self._attempts_in_a_row = 0

    def _remaining(self) -> float | None:
        """Seconds left of the watch's deadline (``None``: no deadline)."""
        return None if self._deadline is None else self._deadline - time.monotonic()

    def _reconnect_delay(self, error: grpc.RpcError) -> float | None:
        """Seconds to wait before starting a new stream after ``error``, or ``None`` when the error ends the watch.

        Counts the attempt (call it once per failure).
        """
        details = error_details(error)
        remaining = self._remaining()
        if details.code == grpc.StatusCode.UNAVAILABLE:
            pass
        elif details.code == grpc.StatusCode.DEADLINE_EXCEEDED:
            if remaining is not None and remaining <= _OWN_DEADLINE_MARGIN:
                return None  # The caller's own deadline: the watch is over.
        elif details.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            if details.retry_delay is None:
                return None  # Only a status that says when to come back is worth another stream.
        else:
            return None
        if self._attempts_in_a_row >= self._policy.max_attempts:
            return None
        base = self._policy.delay.total_seconds() * 2.0 ** min(self._attempts_in_a_row, 32)
        delay = min(base, self._policy.max_delay.total_seconds())
        delay -= random.uniform(0, delay / 2)
        if details.retry_delay is not None:
            delay = max(delay, details.retry_delay.total_seconds())
        if remaining is not None and delay >= remaining:
            return None  # No time left for another stream: the error stands.
        self._attempts_in_a_row += 1
        return delay

    def _restarted(self) -> None:
        """Notes that a new stream was started after a failure."""
        self._reconnects += 1


Stream = TypeVar("Stream")
Watch = TypeVar("Watch")


StartWatch = Callable[[float | None], Any]
"""Starts one ``WatchBudgets`` stream with the given timeout (seconds, ``None``: no deadline) and returns the call."""


class ClientBase(Generic[Stream, Watch]):
    """A client of pcusage's ``UsageRecordsService``: the stub, the caller's credentials, and the calls.

    Subclasses name the stream and watch types their channel's calls are wrapped in (sync or ``grpc.aio``).
    """

    _stream_type: Callable[[Any], Stream]
    _watch_type: Callable[[StartWatch, ReconnectPolicy, float | None], Watch]

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
        customer_ids: Iterable[str] = (),
        currency_codes: Iterable[str] = (),
        min_percent_used: DecimalInput | None = None,
        only_with_budget: bool = False,
    ) -> Stream:
        """Starts streaming every customer's usage record, or those that pass the filters given.

        ``timeout`` (seconds) is the deadline of the whole stream; ``None`` leaves it to the server's bound (1 h).
        ``resume_token`` continues an earlier stream after its last fully processed message (resume with the same
        filters to continue the same filtered list). ``correlation_id`` (a GUID) is sent to Partner Center as
        MS-CorrelationId; the server makes one up when it is absent. ``max_staleness`` is how old a list the server
        fetched for another call may be and still serve this one: zero asks for a fresh walk of Partner Center,
        ``None`` lets the server choose (its default is 5 minutes). ``metadata`` is sent with the call besides the
        credentials.

        Filters (docs/api.md, "Filters"; applied by the server, every one given must pass): ``customer_ids``, only
        these customers (tenant-id GUIDs, any case); ``currency_codes``, only these ISO 4217 currencies (any case;
        a record without ``currency_code`` passes none); ``min_percent_used``, only records whose ``percent_used``
        is at least this, compared exactly (a :class:`decimal.Decimal`, decimal text such as ``"80"`` or an ``int``;
        a ``float`` raises :class:`TypeError`); ``only_with_budget``, only records whose ``budget`` has an amount.
        Empty lists and ``None`` filter nothing. A list given as one string raises :class:`TypeError`, decimal text
        outside google.type.Decimal's grammar :class:`ValueError`, both before any call; the server answers other
        bad values (a customer id that is not a GUID) with ``INVALID_ARGUMENT`` naming the field.
        """
        request = list_request(
            page_size=page_size,
            resume_token=resume_token,
            max_staleness=max_staleness,
            customer_ids=customer_ids,
            currency_codes=currency_codes,
            min_percent_used=min_percent_used,
            only_with_budget=only_with_budget,
        )
        call = self._stub.ListUsageRecords(
            request,
            timeout=timeout,
            metadata=call_metadata(
                access_token=self._access_token, api_key=self._api_key, correlation_id=correlation_id, metadata=metadata
            ),
        )
        return self._stream_type(call)

    def watch_budgets(
        self,
        *,
        thresholds: Iterable[DecimalInput] = (),
        customer_ids: Iterable[str] = (),
        currency_codes: Iterable[str] = (),
        poll_interval: datetime.timedelta | None = None,
        timeout: float | None = None,
        correlation_id: str | None = None,
        reconnect: ReconnectPolicy = DEFAULT_RECONNECT,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> Watch:
        """Starts watching customers' ``percent_used`` against budget thresholds (docs/api.md, "Budget watch").

        The watch yields :class:`WatchBudgetsResponse` events: first the level (a ``KIND_LEVEL`` budget event for
        every matching customer at or above each threshold), then ``initial_state_complete``, then an event each
        time a customer crosses a threshold up or down or is gone, and ``poll_failed`` when a poll failed (the
        server tries again; the stream goes on).

        Delivery: edges are exactly once within a stream and at least once across reconnects. A new stream (after
        a reconnect, or a new call) starts with the level again, so nothing is missed, but a state already acted on
        may come again as a ``KIND_LEVEL`` event, and a crossing that happened while disconnected arrives as part
        of the level (or, for a customer that fell below, as its absence from the level), not as an edge. Make
        handlers idempotent (key on customer and threshold), and rebuild any state from each level.

        ``thresholds`` are percentages (:class:`decimal.Decimal`, decimal text or ``int``; a ``float`` raises
        :class:`TypeError`), sent as spelled and echoed so in events; empty means the server's 80 and 100.
        ``customer_ids`` and ``currency_codes`` filter as :meth:`list_usage_records` does. ``poll_interval`` is how
        often the server looks (``None``: its default, 15 minutes; below its ``--min_watch_poll_interval``:
        ``INVALID_ARGUMENT``). ``timeout`` (seconds) bounds the whole watch, reconnects included; ``None`` runs
        until cancelled (each stream then lasts at most the server's ``--max_watch_duration``, 24 h, and is
        reconnected). ``correlation_id`` is sent with every stream of the watch. ``reconnect`` says when a stream
        that failed is started again by itself (:class:`ReconnectPolicy`: on ``UNAVAILABLE``, the server's
        ``--max_watch_duration`` and a ``RESOURCE_EXHAUSTED`` with ``RetryInfo``, at most 5 attempts
        in a row by default; :data:`NO_RECONNECT` turns it off). Other errors end the iteration with the
        :class:`grpc.RpcError`, which :func:`pcusage_client.error_details` reads.
        """
        request = watch_request(
            thresholds=thresholds,
            customer_ids=customer_ids,
            currency_codes=currency_codes,
            poll_interval=poll_interval,
        )
        entries = call_metadata(
            access_token=self._access_token, api_key=self._api_key, correlation_id=correlation_id, metadata=metadata
        )

        def start(call_timeout: float | None) -> Any:
            return self._stub.WatchBudgets(request, timeout=call_timeout, metadata=entries)

        return self._watch_type(start, reconnect, timeout)
