"""Python client of pcusage: Microsoft Partner Center usage records streamed over gRPC, with exact decimals.

- :class:`UsageRecordsClient` / :class:`UsageRecordStream`: call ``ListUsageRecords`` with a deadline, iterate the
  records, cancel, resume from a ``resume_token``.
- :func:`to_decimal`, :func:`optional_decimal`, :func:`exact_sum`, :func:`to_plain_string`: exact money values.
- :func:`error_details` / :class:`ErrorDetails`: the ``ErrorInfo`` reason and ``RetryInfo`` delay of a failed call.
- The generated messages and stub are re-exported here and in :mod:`pcusage_client.v1`.
"""

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

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXACT_CONTEXT",
    "CustomerMonthlyUsageRecord",
    "ErrorDetails",
    "ListUsageRecordsRequest",
    "ListUsageRecordsResponse",
    "SpendingBudget",
    "UsageRecordStream",
    "UsageRecordsClient",
    "UsageRecordsServiceStub",
    "error_details",
    "exact_sum",
    "optional_decimal",
    "to_decimal",
    "to_plain_string",
]
