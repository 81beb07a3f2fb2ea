"""Records streamed through pcusage against the emulator's raw JSON: exact decimals, presence, every field."""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from pcusage_client import CustomerMonthlyUsageRecord, UsageRecordsClient, optional_decimal, to_decimal

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))?", re.ASCII
)
_DECIMAL_FIELDS = {"percentUsed": "percent_used", "totalCost": "total_cost", "usdTotalCost": "usd_total_cost"}
_BUDGET_FIELDS = {
    "budget": "budget",
    "customerSpendingBudget": "customer_spending_budget",
    "usageSpendingBudget": "usage_spending_budget",
}
_STRING_FIELDS = {
    "id": "id",
    "name": "name",
    "resourceId": "resource_id",
    "resourceName": "resource_name",
    "currencyLocale": "currency_locale",
    "currencyCode": "currency_code",
    "currencySymbol": "currency_symbol",
}


def _instant(text: str) -> tuple[int, int]:
    """Unix seconds and nanoseconds of an RFC 3339 date-time (no offset means UTC), to 100 ns like pcusage."""
    match = _RFC3339.fullmatch(text)
    assert match, text
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, _, sign, offset_hours, offset_minutes = match.groups()[6:]
    seconds = calendar.timegm(datetime(year, month, day, hour, minute, second).timetuple())
    if sign:
        offset = int(offset_hours) * 3600 + int(offset_minutes) * 60
        seconds -= offset if sign == "+" else -offset
    nanos = int((fraction or "")[:7].ljust(9, "0"))
    return seconds, nanos


def _exact(value: Decimal) -> tuple[int, tuple[int, ...], int | str]:
    """A Decimal's sign, digits and exponent: equal only when the digits are the same, trailing zeros included."""
    sign, digits, exponent = value.as_tuple()
    return sign, digits, exponent


def _assert_matches(record: CustomerMonthlyUsageRecord, raw: dict[str, Any]) -> None:
    where = f"record {raw.get('id')}"
    for json_name, field in _STRING_FIELDS.items():
        assert getattr(record, field) == (raw.get(json_name) or ""), f"{where}: {field}"
    assert record.object_type == ((raw.get("attributes") or {}).get("objectType") or ""), where

    for json_name, field in _DECIMAL_FIELDS.items():
        got = optional_decimal(record, field)
        sent = raw.get(json_name)
        if sent is None:
            assert got is None, f"{where}: {field} should be unset"
        else:
            assert got is not None, f"{where}: {field} should be set"
            assert _exact(got) == _exact(sent), f"{where}: {field} {got} != {sent}"

    for json_name, field in _BUDGET_FIELDS.items():
        sent = raw.get(json_name)
        if sent is None:
            assert not record.HasField(field), f"{where}: {field} should be unset"
            continue
        assert record.HasField(field), f"{where}: {field} should be set"
        budget = getattr(record, field)
        amount = sent.get("amount")
        if amount is None:
            assert not budget.HasField("amount"), f"{where}: {field}.amount should be unset"
        else:
            assert _exact(to_decimal(budget.amount)) == _exact(amount), f"{where}: {field}.amount"
        assert budget.object_type == ((sent.get("attributes") or {}).get("objectType") or ""), where

    if raw.get("isUpgraded") is None:
        assert not record.HasField("is_upgraded"), f"{where}: is_upgraded should be unset"
    else:
        assert record.HasField("is_upgraded") and record.is_upgraded == raw["isUpgraded"], where

    if raw.get("lastModifiedDate") is None:
        assert not record.HasField("last_modified_time"), where
    else:
        stamp = record.last_modified_time
        assert record.HasField("last_modified_time"), where
        assert (stamp.seconds, stamp.nanos) == _instant(raw["lastModifiedDate"]), f"{where}: last_modified_time"


@pytest.fixture(scope="module")
def streamed(client: UsageRecordsClient) -> list[CustomerMonthlyUsageRecord]:
    """Every record through pcusage, in batches of 7 (so batches do not line up with Partner Center's pages)."""
    with client.list_usage_records(page_size=7, timeout=60) as stream:
        return list(stream)


def test_stream_delivers_every_raw_record_field_for_field(
    streamed: list[CustomerMonthlyUsageRecord], raw_records: list[dict[str, Any]]
) -> None:
    assert [r.id for r in streamed] == [r["id"] for r in raw_records]
    for record, raw in zip(streamed, raw_records, strict=True):
        _assert_matches(record, raw)


def test_decimals_with_20_plus_significant_digits_survive(
    streamed: list[CustomerMonthlyUsageRecord], raw_records: list[dict[str, Any]]
) -> None:
    long_ones = 0
    for record, raw in zip(streamed, raw_records, strict=True):
        for json_name, field in _DECIMAL_FIELDS.items():
            sent = raw.get(json_name)
            if sent is not None and len(sent.as_tuple().digits) >= 20:
                long_ones += 1
                assert _exact(to_decimal(getattr(record, field))) == _exact(sent)
    assert long_ones > 0, "the data set should hold decimals of 20+ significant digits"
    # Partner Center's digits arrive as text, untouched (a float would give 120.56829999999959).
    total_costs = [r.total_cost.value for r in streamed if r.HasField("total_cost")]
    assert "120.5682999999995904716" in total_costs
    assert to_decimal(next(r.total_cost for r in streamed if r.total_cost.value == "120.5682999999995904716")) == (
        Decimal("120.5682999999995904716")
    )


def test_presence_is_kept(streamed: list[CustomerMonthlyUsageRecord], raw_records: list[dict[str, Any]]) -> None:
    by_id = {r.id: r for r in streamed}
    without_budget = [r for r in raw_records if r.get("budget") is None]
    budget_without_amount = [
        r for r in raw_records if r.get("budget") is not None and r["budget"].get("amount") is None
    ]
    without_total_cost = [r for r in raw_records if r.get("totalCost") is None]
    assert without_budget and budget_without_amount and without_total_cost, "the data set should cover each case"

    for raw in without_budget:
        assert not by_id[raw["id"]].HasField("budget")
    for raw in budget_without_amount:
        record = by_id[raw["id"]]
        assert record.HasField("budget") and not record.budget.HasField("amount")
    for raw in without_total_cost:
        assert optional_decimal(by_id[raw["id"]], "total_cost") is None
    zero_budgets = [
        r
        for r in streamed
        if r.HasField("usage_spending_budget")
        and r.usage_spending_budget.HasField("amount")
        and to_decimal(r.usage_spending_budget.amount) == 0
    ]
    assert zero_budgets, "a zero budget amount is set, not absent"
