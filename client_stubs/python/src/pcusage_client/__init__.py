"""Python client of pcusage: Microsoft Partner Center usage records streamed over gRPC, with exact decimals.

- :class:`UsageRecordsClient` / :class:`UsageRecordStream`: call ``ListUsageRecords`` with a deadline, iterate the
  records, cancel, resume from a ``resume_token``; :class:`AsyncUsageRecordsClient` /
  :class:`AsyncUsageRecordStream` do the same with asyncio (``grpc.aio``).
- :meth:`UsageRecordsClient.watch_budgets` / :class:`BudgetWatch` (:class:`AsyncBudgetWatch`): ``WatchBudgets``
  events (the level, then threshold crossings), reconnecting (``UNAVAILABLE`` and the like) as
  :class:`ReconnectPolicy` says.
- :func:`open_channel`, :func:`open_aio_channel`, :class:`TlsOptions`: plaintext or TLS channels, with a private CA
  and a client certificate; the clients send the Partner Center token and the pcusage API key (``x-api-key``).
- :func:`to_decimal`, :func:`optional_decimal`, :func:`exact_sum`, :func:`to_plain_string`: exact money values;
  :func:`to_proto_decimal` the other way (a filter's or threshold's ``google.type.Decimal``, never from a float).
- :func:`error_details` / :class:`ErrorDetails`: the ``ErrorInfo`` reason and ``RetryInfo`` delay of a failed call,
  sync or aio; :func:`poll_failure_details` the same for a watch's ``poll_failed`` event.
- The generated messages and stub are re-exported here and in :mod:`pcusage_client.v1`.
"""

import importlib.metadata

from pcusage_client._calls import DEFAULT_RECONNECT, NO_RECONNECT, ReconnectPolicy
from pcusage_client.aio import AsyncBudgetWatch, AsyncUsageRecordsClient, AsyncUsageRecordStream
from pcusage_client.channels import TlsOptions, open_aio_channel, open_channel
from pcusage_client.client import DEFAULT_TIMEOUT, BudgetWatch, UsageRecordsClient, UsageRecordStream
from pcusage_client.decimals import (
    EXACT_CONTEXT,
    DecimalInput,
    exact_sum,
    optional_decimal,
    to_decimal,
    to_plain_string,
    to_proto_decimal,
)
from pcusage_client.errors import ErrorDetails, error_details, poll_failure_details
from pcusage_client.v1 import (
    BudgetEvent,
    CustomerMonthlyUsageRecord,
    InitialStateComplete,
    ListUsageRecordsRequest,
    ListUsageRecordsResponse,
    PollFailed,
    SpendingBudget,
    UsageRecordsServiceStub,
    WatchBudgetsRequest,
    WatchBudgetsResponse,
)

__version__ = importlib.metadata.version("pcusage-client")

__all__ = [
    "DEFAULT_RECONNECT",
    "DEFAULT_TIMEOUT",
    "EXACT_CONTEXT",
    "NO_RECONNECT",
    "AsyncBudgetWatch",
    "AsyncUsageRecordStream",
    "AsyncUsageRecordsClient",
    "BudgetEvent",
    "BudgetWatch",
    "CustomerMonthlyUsageRecord",
    "DecimalInput",
    "ErrorDetails",
    "InitialStateComplete",
    "ListUsageRecordsRequest",
    "ListUsageRecordsResponse",
    "PollFailed",
    "ReconnectPolicy",
    "SpendingBudget",
    "TlsOptions",
    "UsageRecordStream",
    "UsageRecordsClient",
    "UsageRecordsServiceStub",
    "WatchBudgetsRequest",
    "WatchBudgetsResponse",
    "__version__",
    "error_details",
    "exact_sum",
    "open_aio_channel",
    "open_channel",
    "optional_decimal",
    "poll_failure_details",
    "to_decimal",
    "to_plain_string",
    "to_proto_decimal",
]
