"""Reading pcusage's error details (``google.rpc.ErrorInfo`` and ``google.rpc.RetryInfo``) from a failed call.

Every pcusage error carries a ``google.rpc.Status`` in the ``grpc-status-details-bin`` trailer. :func:`error_details`
reads it from the error of a sync call (:class:`grpc.RpcError` that is a :class:`grpc.Call`) and of a ``grpc.aio``
call (:class:`grpc.aio.AioRpcError`) alike, and unpacks the details; :func:`poll_failure_details` gives the same shape
for a budget watch's ``poll_failed`` event (a failure the stream survived)::

    try:
        for record in stream: ...
    except grpc.RpcError as err:
        details = error_details(err)
        if details.retry_delay is not None:
            time.sleep(details.retry_delay.total_seconds())
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import grpc
import grpc.aio
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

from pcusage_client.v1 import PollFailed

__all__ = ["ErrorDetails", "error_details", "poll_failure_details"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclasses.dataclass(frozen=True)
class ErrorDetails:
    """What a failed pcusage call says about its failure.

    ``reason``, ``domain`` and ``metadata`` come from the ``ErrorInfo`` detail, ``retry_delay`` from ``RetryInfo``;
    they are ``None`` (empty) when the status has no such detail, e.g. when the caller's own deadline ended the
    call (gRPC then ends it locally, without details).
    """

    code: grpc.StatusCode
    message: str
    reason: str | None = None
    domain: str | None = None
    metadata: Mapping[str, str] = dataclasses.field(default_factory=lambda: _EMPTY)
    retry_delay: datetime.timedelta | None = None

    @property
    def correlation_id(self) -> str | None:
        """The call's MS-CorrelationId (ErrorInfo metadata ``ms_correlation_id``): quote it to Microsoft support."""
        return self.metadata.get("ms_correlation_id")

    def __str__(self) -> str:
        text = f"{self.code.name}: {self.message}"
        extras = []
        if self.reason is not None:
            extras.append(f"reason {self.reason}")
        if self.retry_delay is not None:
            extras.append(f"retry after {self.retry_delay.total_seconds():g} s")
        return f"{text} ({', '.join(extras)})" if extras else text


def _status_from_trailers(
    code: grpc.StatusCode, trailers: Iterable[tuple[str, str | bytes]] | None
) -> status_pb2.Status | None:
    """The ``google.rpc.Status`` of the trailers, when there is one that parses and agrees with the call's code."""
    for key, value in trailers or ():
        if key != _STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status()
        try:
            status.ParseFromString(value)
        except DecodeError:
            return None
        return status if status.code == code.value[0] else None
    return None


def error_details(error: grpc.RpcError) -> ErrorDetails:
    """Reads the status code, message, ErrorInfo and RetryInfo of a failed call, sync or ``grpc.aio``.

    ``error`` is the :class:`grpc.RpcError` a stub call (or iterating its stream) raised: a sync call's error is
    also a :class:`grpc.Call`, a ``grpc.aio`` call's is a :class:`grpc.aio.AioRpcError`; both carry the trailers
    that hold the details. A status detail that does not parse, or names another code than the call ended with, is
    ignored (code and message then come from the call alone).
    """
    if not isinstance(error, (grpc.Call, grpc.aio.AioRpcError)):
        return ErrorDetails(code=grpc.StatusCode.UNKNOWN, message=str(error))
    code, message, trailers = error.code(), error.details(), error.trailing_metadata()
    status = _status_from_trailers(code, trailers)
    if status is None:
        return ErrorDetails(code=code, message=message or "")

    info: error_details_pb2.ErrorInfo | None = None
    retry: error_details_pb2.RetryInfo | None = None
    for detail in status.details:
        if info is None and detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif retry is None and detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
    return ErrorDetails(
        code=code,
        message=status.message,
        reason=info.reason if info is not None else None,
        domain=info.domain if info is not None else None,
        metadata=MappingProxyType(dict(info.metadata)) if info is not None else _EMPTY,
        retry_delay=retry.retry_delay.ToTimedelta() if retry is not None and retry.HasField("retry_delay") else None,
    )


def poll_failure_details(event: PollFailed) -> ErrorDetails:
    """A budget watch's ``poll_failed`` event as :class:`ErrorDetails`: its code (a ``grpc.StatusCode``), message,
    ErrorInfo reason and, as ``retry_delay``, when the server polls again. The stream goes on after such an event.
    ``domain`` is ``pcusage`` when a reason is given; ``metadata`` is empty (the event carries none)."""
    code = next((c for c in grpc.StatusCode if c.value[0] == event.code), grpc.StatusCode.UNKNOWN)
    return ErrorDetails(
        code=code,
        message=event.message,
        reason=event.reason or None,
        domain="pcusage" if event.reason else None,
        retry_delay=event.retry_in.ToTimedelta() if event.HasField("retry_in") else None,
    )
