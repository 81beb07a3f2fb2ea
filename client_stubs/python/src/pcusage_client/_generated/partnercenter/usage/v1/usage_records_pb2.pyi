from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import decimal_pb2 as _decimal_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListUsageRecordsRequest(_message.Message):
    __slots__ = ("page_size", "resume_token", "max_staleness", "customer_ids", "currency_codes", "min_percent_used", "only_with_budget")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MAX_STALENESS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_IDS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODES_FIELD_NUMBER: _ClassVar[int]
    MIN_PERCENT_USED_FIELD_NUMBER: _ClassVar[int]
    ONLY_WITH_BUDGET_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    resume_token: str
    max_staleness: _duration_pb2.Duration
    customer_ids: _containers.RepeatedScalarFieldContainer[str]
    currency_codes: _containers.RepeatedScalarFieldContainer[str]
    min_percent_used: _decimal_pb2.Decimal
    only_with_budget: bool
    def __init__(self, page_size: _Optional[int] = ..., resume_token: _Optional[str] = ..., max_staleness: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., customer_ids: _Optional[_Iterable[str]] = ..., currency_codes: _Optional[_Iterable[str]] = ..., min_percent_used: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., only_with_budget: bool = ...) -> None: ...

class ListUsageRecordsResponse(_message.Message):
    __slots__ = ("usage_records", "partner_center_total_count", "resume_token", "snapshot_time", "from_shared_snapshot")
    USAGE_RECORDS_FIELD_NUMBER: _ClassVar[int]
    PARTNER_CENTER_TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_SHARED_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    usage_records: _containers.RepeatedCompositeFieldContainer[CustomerMonthlyUsageRecord]
    partner_center_total_count: int
    resume_token: str
    snapshot_time: _timestamp_pb2.Timestamp
    from_shared_snapshot: bool
    def __init__(self, usage_records: _Optional[_Iterable[_Union[CustomerMonthlyUsageRecord, _Mapping]]] = ..., partner_center_total_count: _Optional[int] = ..., resume_token: _Optional[str] = ..., snapshot_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., from_shared_snapshot: bool = ...) -> None: ...

class CustomerMonthlyUsageRecord(_message.Message):
    __slots__ = ("id", "name", "resource_id", "resource_name", "budget", "customer_spending_budget", "usage_spending_budget", "percent_used", "total_cost", "usd_total_cost", "currency_locale", "currency_code", "currency_symbol", "is_upgraded", "last_modified_time", "object_type")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_SPENDING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    USAGE_SPENDING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    PERCENT_USED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_FIELD_NUMBER: _ClassVar[int]
    USD_TOTAL_COST_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_LOCALE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_SYMBOL_FIELD_NUMBER: _ClassVar[int]
    IS_UPGRADED_FIELD_NUMBER: _ClassVar[int]
    LAST_MODIFIED_TIME_FIELD_NUMBER: _ClassVar[int]
    OBJECT_TYPE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    resource_id: str
    resource_name: str
    budget: SpendingBudget
    customer_spending_budget: SpendingBudget
    usage_spending_budget: SpendingBudget
    percent_used: _decimal_pb2.Decimal
    total_cost: _decimal_pb2.Decimal
    usd_total_cost: _decimal_pb2.Decimal
    currency_locale: str
    currency_code: str
    currency_symbol: str
    is_upgraded: bool
    last_modified_time: _timestamp_pb2.Timestamp
    object_type: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., resource_id: _Optional[str] = ..., resource_name: _Optional[str] = ..., budget: _Optional[_Union[SpendingBudget, _Mapping]] = ..., customer_spending_budget: _Optional[_Union[SpendingBudget, _Mapping]] = ..., usage_spending_budget: _Optional[_Union[SpendingBudget, _Mapping]] = ..., percent_used: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., total_cost: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., usd_total_cost: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., currency_locale: _Optional[str] = ..., currency_code: _Optional[str] = ..., currency_symbol: _Optional[str] = ..., is_upgraded: bool = ..., last_modified_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., object_type: _Optional[str] = ...) -> None: ...

class SpendingBudget(_message.Message):
    __slots__ = ("amount", "object_type")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    OBJECT_TYPE_FIELD_NUMBER: _ClassVar[int]
    amount: _decimal_pb2.Decimal
    object_type: str
    def __init__(self, amount: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., object_type: _Optional[str] = ...) -> None: ...

class WatchBudgetsRequest(_message.Message):
    __slots__ = ("thresholds", "customer_ids", "currency_codes", "poll_interval")
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_IDS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODES_FIELD_NUMBER: _ClassVar[int]
    POLL_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    thresholds: _containers.RepeatedCompositeFieldContainer[_decimal_pb2.Decimal]
    customer_ids: _containers.RepeatedScalarFieldContainer[str]
    currency_codes: _containers.RepeatedScalarFieldContainer[str]
    poll_interval: _duration_pb2.Duration
    def __init__(self, thresholds: _Optional[_Iterable[_Union[_decimal_pb2.Decimal, _Mapping]]] = ..., customer_ids: _Optional[_Iterable[str]] = ..., currency_codes: _Optional[_Iterable[str]] = ..., poll_interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WatchBudgetsResponse(_message.Message):
    __slots__ = ("budget_event", "initial_state_complete", "poll_failed", "snapshot_time")
    BUDGET_EVENT_FIELD_NUMBER: _ClassVar[int]
    INITIAL_STATE_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    POLL_FAILED_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_TIME_FIELD_NUMBER: _ClassVar[int]
    budget_event: BudgetEvent
    initial_state_complete: InitialStateComplete
    poll_failed: PollFailed
    snapshot_time: _timestamp_pb2.Timestamp
    def __init__(self, budget_event: _Optional[_Union[BudgetEvent, _Mapping]] = ..., initial_state_complete: _Optional[_Union[InitialStateComplete, _Mapping]] = ..., poll_failed: _Optional[_Union[PollFailed, _Mapping]] = ..., snapshot_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BudgetEvent(_message.Message):
    __slots__ = ("kind", "threshold", "record", "previous_percent_used")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[BudgetEvent.Kind]
        KIND_LEVEL: _ClassVar[BudgetEvent.Kind]
        KIND_CROSSED_UP: _ClassVar[BudgetEvent.Kind]
        KIND_CROSSED_DOWN: _ClassVar[BudgetEvent.Kind]
        KIND_GONE: _ClassVar[BudgetEvent.Kind]
    KIND_UNSPECIFIED: BudgetEvent.Kind
    KIND_LEVEL: BudgetEvent.Kind
    KIND_CROSSED_UP: BudgetEvent.Kind
    KIND_CROSSED_DOWN: BudgetEvent.Kind
    KIND_GONE: BudgetEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PERCENT_USED_FIELD_NUMBER: _ClassVar[int]
    kind: BudgetEvent.Kind
    threshold: _decimal_pb2.Decimal
    record: CustomerMonthlyUsageRecord
    previous_percent_used: _decimal_pb2.Decimal
    def __init__(self, kind: _Optional[_Union[BudgetEvent.Kind, str]] = ..., threshold: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ..., record: _Optional[_Union[CustomerMonthlyUsageRecord, _Mapping]] = ..., previous_percent_used: _Optional[_Union[_decimal_pb2.Decimal, _Mapping]] = ...) -> None: ...

class InitialStateComplete(_message.Message):
    __slots__ = ("matching_customers",)
    MATCHING_CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    matching_customers: int
    def __init__(self, matching_customers: _Optional[int] = ...) -> None: ...

class PollFailed(_message.Message):
    __slots__ = ("code", "reason", "message", "failures_in_a_row", "retry_in")
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FAILURES_IN_A_ROW_FIELD_NUMBER: _ClassVar[int]
    RETRY_IN_FIELD_NUMBER: _ClassVar[int]
    code: int
    reason: str
    message: str
    failures_in_a_row: int
    retry_in: _duration_pb2.Duration
    def __init__(self, code: _Optional[int] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., failures_in_a_row: _Optional[int] = ..., retry_in: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...
