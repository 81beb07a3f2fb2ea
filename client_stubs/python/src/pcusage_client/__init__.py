"""Python client of pcusage: Microsoft Partner Center usage records streamed over gRPC, with exact decimals.

- :class:`UsageRecordsClient` / :class:`UsageRecordStream`: call ``ListUsageRecords`` with a deadline, iterate the
  records, cancel, resume from a ``resume_token``; :class:`AsyncUsageRecordsClient` /
  :class:`AsyncUsageRecordStream` do the same with asyncio (``grpc.aio``).
- :func:`open_channel`, :func:`open_aio_channel`, :class:`TlsOptions`: plaintext or TLS channels, with a private CA
  and a client certificate; the clients send the Partner Center token and the pcusage API key (``x-api-key``).
- :func:`to_decimal`, :func:`optional_decimal`, :func:`exact_sum`, :func:`to_plain_string`: exact money values.
- :func:`error_details` / :class:`ErrorDetails`: the ``ErrorInfo`` reason and ``RetryInfo`` delay of a failed call,
  sync or aio.
- The generated messages and stub are re-exported here and in :mod:`pcusage_client.v1`.
"""

import importlib.metadata

from pcusage_client.aio import AsyncUsageRecordsClient, AsyncUsageRecordStream
from pcusage_client.channels import TlsOptions, open_aio_channel, open_channel
from pcusage_client.client import DEFAULT_TIMEOUT, UsageRecordsClient, UsageRecordStream
from pcusage_client.decimals import EXACT_CONTEXT, exact_sum, optional_decimal, to_decimal, to_plain_string
from pcusage_client.errors import ErrorDetails, error_details
from pcusage_client.v1 import (
    CustomerMonthlyUsageRecord,
    ListUsageRecordsRequest,
    ListUsageRecordsResponse,
    SpendingBudget,
    UsageRecordsServiceStub,
)

__version__ = importlib.metadata.version("pcusage-client")

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXACT_CONTEXT",
    "AsyncUsageRecordStream",
    "AsyncUsageRecordsClient",
    "CustomerMonthlyUsageRecord",
    "ErrorDetails",
    "ListUsageRecordsRequest",
    "ListUsageRecordsResponse",
    "SpendingBudget",
    "TlsOptions",
    "UsageRecordStream",
    "UsageRecordsClient",
    "UsageRecordsServiceStub",
    "__version__",
    "error_details",
    "exact_sum",
    "open_aio_channel",
    "open_channel",
    "optional_decimal",
    "to_decimal",
    "to_plain_string",
]
