"""An in-process gRPC server playing pcusage from a script, for the client's unit tests (no stack needed).

Each ``WatchBudgets`` call takes the next script of ``FakeService.watch_scripts``: a list of steps, each a
``WatchBudgetsResponse`` to send, a :class:`Fail` (end the call with that status and pcusage's ErrorInfo/RetryInfo
in ``grpc-status-details-bin``, as the real server does) or :data:`HOLD` (send nothing more until the caller
cancels or the deadline passes). A call with no script left holds. ``ListUsageRecords`` records its request and
sends one empty message.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from google.type import decimal_pb2

from pcusage_client import (
    BudgetEvent,
    CustomerMonthlyUsageRecord,
    InitialStateComplete,
    ListUsageRecordsRequest,
    ListUsageRecordsResponse,
    PollFailed,
    WatchBudgetsRequest,
    WatchBudgetsResponse,
)
from pcusage_client.v1 import UsageRecordsServiceServicer, add_UsageRecordsServiceServicer_to_server


@dataclasses.dataclass(frozen=True)
class Fail:
    """Ends the call with ``code``, ``message`` and an ErrorInfo ``reason`` (and RetryInfo when ``retry_delay``)."""

    code: grpc.StatusCode
    message: str = "failed"
    reason: str | None = None
    retry_delay: datetime.timedelta | None = None


class _Hold:
    def __repr__(self) -> str:
        return "HOLD"


HOLD = _Hold()
Step = WatchBudgetsResponse | Fail | _Hold


@dataclasses.dataclass
class WatchCall:
    """What the server saw of one ``WatchBudgets`` call."""

    request: WatchBudgetsRequest
    metadata: dict[str, str]
    correlation_id: str
    ended: threading.Event = dataclasses.field(default_factory=threading.Event)


class FakeService(UsageRecordsServiceServicer):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.watch_scripts: list[list[Step]] = []
        self.watch_calls: list[WatchCall] = []
        self.list_requests: list[ListUsageRecordsRequest] = []

    def ListUsageRecords(
        self, request: ListUsageRecordsRequest, context: grpc.ServicerContext
    ) -> Iterator[ListUsageRecordsResponse]:
        with self.lock:
            self.list_requests.append(request)
        yield ListUsageRecordsResponse(partner_center_total_count=0)

    def WatchBudgets(
        self, request: WatchBudgetsRequest, context: grpc.ServicerContext
    ) -> Iterator[WatchBudgetsResponse]:
        metadata = {key: value for key, value in context.invocation_metadata() if isinstance(value, str)}
        with self.lock:
            number = len(self.watch_calls)
            call = WatchCall(
                request=request,
                metadata=metadata,
                correlation_id=metadata.get("x-ms-correlation-id", f"00000000-0000-4000-8000-{number:012d}"),
            )
            self.watch_calls.append(call)
            script = self.watch_scripts.pop(0) if self.watch_scripts else [HOLD]

        context.add_callback(call.ended.set)
        context.send_initial_metadata([("x-ms-correlation-id", call.correlation_id)])
        for step in script:
            if isinstance(step, WatchBudgetsResponse):
                yield step
            elif isinstance(step, Fail):
                _abort(context, step, call.correlation_id)
            else:
                while context.is_active():
                    time.sleep(0.01)
                return


def _abort(context: grpc.ServicerContext, fail: Fail, correlation_id: str) -> None:
    details: list[any_pb2.Any] = []
    if fail.reason is not None:
        info = any_pb2.Any()
        info.Pack(
            error_details_pb2.ErrorInfo(
                reason=fail.reason, domain="pcusage", metadata={"ms_correlation_id": correlation_id}
            )
        )
        details.append(info)
    if fail.retry_delay is not None:
        retry = any_pb2.Any()
        delay = duration_pb2.Duration()
        delay.FromTimedelta(fail.retry_delay)
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(retry)
    status = status_pb2.Status(code=fail.code.value[0], message=fail.message, details=details)
    context.set_trailing_metadata([("grpc-status-details-bin", status.SerializeToString())])
    context.abort(fail.code, fail.message)


class FakeServer:
    """A running fake pcusage on a free loopback port."""

    def __init__(self) -> None:
        self.service = FakeService()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        add_UsageRecordsServiceServicer_to_server(self.service, self._server)
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=None).wait(10)


def _decimal(text: str) -> decimal_pb2.Decimal:
    return decimal_pb2.Decimal(value=text)


def budget_event(
    kind: BudgetEvent.Kind, customer: str, threshold: str, percent: str, previous: str | None = None
) -> WatchBudgetsResponse:
    event = BudgetEvent(
        kind=kind,
        threshold=_decimal(threshold),
        record=CustomerMonthlyUsageRecord(resource_id=customer, percent_used=_decimal(percent)),
    )
    if previous is not None:
        event.previous_percent_used.CopyFrom(_decimal(previous))
    return WatchBudgetsResponse(budget_event=event)


def level(customer: str, threshold: str, percent: str) -> WatchBudgetsResponse:
    return budget_event(BudgetEvent.KIND_LEVEL, customer, threshold, percent)


def complete(matching: int) -> WatchBudgetsResponse:
    return WatchBudgetsResponse(initial_state_complete=InitialStateComplete(matching_customers=matching))


def poll_failed(
    code: grpc.StatusCode, reason: str, failures: int, retry_in: datetime.timedelta
) -> WatchBudgetsResponse:
    failed = PollFailed(code=code.value[0], reason=reason, message=f"{reason} happened", failures_in_a_row=failures)
    failed.retry_in.FromTimedelta(retry_in)
    return WatchBudgetsResponse(poll_failed=failed)
