"""The generated messages and gRPC stub of ``partnercenter.usage.v1``, under stable import names.

The modules themselves are generated from ``protos/partnercenter/usage/v1/usage_records.proto`` by
``generate_stubs.py`` into ``pcusage_client._generated``; import them from here instead.
"""

from pcusage_client._generated.partnercenter.usage.v1 import usage_records_pb2, usage_records_pb2_grpc
from pcusage_client._generated.partnercenter.usage.v1.usage_records_pb2 import (
    BudgetEvent,
    CustomerMonthlyUsageRecord,
    InitialStateComplete,
    ListUsageRecordsRequest,
    ListUsageRecordsResponse,
    PollFailed,
    SpendingBudget,
    WatchBudgetsRequest,
    WatchBudgetsResponse,
)
from pcusage_client._generated.partnercenter.usage.v1.usage_records_pb2_grpc import (
    UsageRecordsServiceServicer,
    UsageRecordsServiceStub,
    add_UsageRecordsServiceServicer_to_server,
)

__all__ = [
    "BudgetEvent",
    "CustomerMonthlyUsageRecord",
    "InitialStateComplete",
    "ListUsageRecordsRequest",
    "ListUsageRecordsResponse",
    "PollFailed",
    "SpendingBudget",
    "UsageRecordsServiceServicer",
    "UsageRecordsServiceStub",
    "WatchBudgetsRequest",
    "WatchBudgetsResponse",
    "add_UsageRecordsServiceServicer_to_server",
    "usage_records_pb2",
    "usage_records_pb2_grpc",
]
