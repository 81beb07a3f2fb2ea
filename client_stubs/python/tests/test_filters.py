"""List filters: the request the helpers build (against an in-process fake server), and filtered lists against the
live stack, each compared with the emulator's raw JSON filtered here with exact Decimals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import grpc
import pytest

from conftest import Emulator
from fake_server import FakeServer
from pcusage_client import (
    AsyncUsageRecordsClient,
    UsageRecordsClient,
    error_details,
    open_aio_channel,
    open_channel,
    to_proto_decimal,
)

# --- the request, against a fake server ---


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("80"), "80"),
        (Decimal("80.0"), "80.0"),
        (Decimal("79.99999999999999999999"), "79.99999999999999999999"),
        (Decimal("1E+2"), "1E+2"),
        ("8E+1", "8E+1"),
        ("1234567890.123456789012345678", "1234567890.123456789012345678"),
        (80, "80"),
    ],
)
def test_min_percent_used_is_sent_exactly_as_given(fake: FakeServer, value: Any, text: str) -> None:
    with open_channel(fake.address) as channel:
        list(UsageRecordsClient(channel).list_usage_records(min_percent_used=value, timeout=10))
    (request,) = fake.service.list_requests
    assert request.HasField("min_percent_used") and request.min_percent_used.value == text


def test_every_filter_reaches_the_request(fake: FakeServer) -> None:
    ids = ["00000000-C0DE-4000-8000-000000000000", "3c6ef362-c0de-4002-8000-000000000002"]
    with open_channel(fake.address) as channel:
        client = UsageRecordsClient(channel)
        list(client.list_usage_records(timeout=10))
        list(
            client.list_usage_records(
                customer_ids=iter(ids),  # Any iterable of strings.
                currency_codes=("eur", "SEK"),
                min_percent_used=Decimal("80"),
                only_with_budget=True,
                page_size=7,
                timeout=10,
            )
        )
    unfiltered, filtered = fake.service.list_requests
    assert not unfiltered.customer_ids and not unfiltered.currency_codes and not unfiltered.only_with_budget
    assert not unfiltered.HasField("min_percent_used")
    assert list(filtered.customer_ids) == ids
    assert list(filtered.currency_codes) == ["eur", "SEK"]
    assert filtered.min_percent_used.value == "80"
    assert filtered.only_with_budget and filtered.page_size == 7


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"min_percent_used": 80.0}, TypeError),  # A float is not exact: refused, not rounded.
        ({"min_percent_used": 0.1}, TypeError),
        ({"min_percent_used": True}, TypeError),
        ({"min_percent_used": Decimal("NaN")}, ValueError),
        ({"min_percent_used": Decimal("-Infinity")}, ValueError),
        ({"min_percent_used": "80 %"}, ValueError),
        ({"min_percent_used": " 80"}, ValueError),
        ({"min_percent_used": "1_000"}, ValueError),
        ({"customer_ids": "00000000-c0de-4000-8000-000000000000"}, TypeError),  # One string is not a list.
        ({"currency_codes": "EUR"}, TypeError),
        ({"currency_codes": [b"EUR"]}, TypeError),
    ],
)
def test_wrong_filter_values_are_refused_before_any_call(
    fake: FakeServer, arguments: dict[str, Any], error: type[Exception]
) -> None:
    with open_channel(fake.address) as channel, pytest.raises(error):
        UsageRecordsClient(channel).list_usage_records(timeout=10, **arguments)
    assert not fake.service.list_requests


def test_aio_list_sends_the_filters(fake: FakeServer) -> None:
    async def body() -> None:
        async with open_aio_channel(fake.address) as channel:
            client = AsyncUsageRecordsClient(channel)
            with pytest.raises(TypeError):
                client.list_usage_records(min_percent_used=80.5)
            async with client.list_usage_records(
                customer_ids=["00000000-c0de-4000-8000-000000000000"],
                currency_codes=["EUR"],
                min_percent_used="79.99999999999999999999",
                only_with_budget=True,
                timeout=10,
            ) as stream:
                assert [r async for r in stream] == []

    asyncio.run(body())
    (request,) = fake.service.list_requests
    assert request.min_percent_used.value == "79.99999999999999999999"
    assert list(request.customer_ids) == ["00000000-c0de-4000-8000-000000000000"]
    assert list(request.currency_codes) == ["EUR"] and request.only_with_budget


def test_to_proto_decimal_keeps_the_spelling() -> None:
    assert to_proto_decimal(Decimal("-0.00")).value == "-0.00"
    assert to_proto_decimal("+.5").value == "+.5"
    with pytest.raises(TypeError, match="float"):
        to_proto_decimal(1.5)  # type: ignore[arg-type]


# --- live: filtered lists return exactly the matching records ---


def _percent(raw: dict[str, Any]) -> Decimal | None:
    return raw.get("percentUsed")


def _expected(raw_records: list[dict[str, Any]], keep: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [r["id"] for r in raw_records if keep(r)]


def _listed(client: UsageRecordsClient, **filters: Any) -> list[str]:
    with client.list_usage_records(page_size=13, timeout=60, **filters) as stream:
        return [record.id for record in stream]


def test_filtered_lists_return_only_matching_records(
    client: UsageRecordsClient, raw_records: list[dict[str, Any]]
) -> None:
    with_percent = [r for r in raw_records if _percent(r) is not None]
    currencies = sorted({r["currencyCode"] for r in raw_records if r.get("currencyCode")})
    assert with_percent and len(currencies) >= 2, "the data set should vary percent_used and currencies"

    # customer_ids, in any case; Partner Center's order whatever the order asked.
    wanted = [raw_records[5]["resourceId"], raw_records[0]["resourceId"].upper(), raw_records[-1]["resourceId"]]
    wanted_lower = {w.lower() for w in wanted}
    expected = _expected(raw_records, lambda r: (r.get("resourceId") or "").lower() in wanted_lower)
    assert len(expected) >= 3
    assert _listed(client, customer_ids=wanted) == expected

    # currency_codes, in any case; a record without a currency code passes none.
    currency = currencies[0]
    expected = _expected(raw_records, lambda r: r.get("currencyCode") == currency)
    assert expected and len(expected) < len(raw_records)
    assert _listed(client, currency_codes=[currency.lower()]) == expected

    # min_percent_used, exactly: as a Decimal and as text.
    for threshold in (Decimal("80"), "100", Decimal("0")):
        bound = Decimal(threshold)
        expected = _expected(raw_records, lambda r, bound=bound: _percent(r) is not None and _percent(r) >= bound)
        assert expected and len(expected) < len(raw_records), threshold
        assert _listed(client, min_percent_used=threshold) == expected, threshold

    # only_with_budget: a budget with an amount.
    expected = _expected(raw_records, lambda r: (r.get("budget") or {}).get("amount") is not None)
    assert expected and len(expected) < len(raw_records)
    assert _listed(client, only_with_budget=True) == expected

    # Every filter at once must pass.
    def every(r: dict[str, Any]) -> bool:
        percent = _percent(r)
        return (
            r.get("currencyCode") in currencies[:2]
            and percent is not None
            and percent >= Decimal("50")
            and (r.get("budget") or {}).get("amount") is not None
        )

    expected = _expected(raw_records, every)
    assert _listed(client, currency_codes=currencies[:2], min_percent_used="50", only_with_budget=True) == expected


def test_filter_that_matches_nothing_is_an_empty_list(client: UsageRecordsClient) -> None:
    with client.list_usage_records(customer_ids=["ffffffff-ffff-4fff-8fff-ffffffffffff"], timeout=60) as stream:
        assert list(stream) == []
        assert stream.partner_center_total_count is not None, "the first message is sent anyway"


def test_invalid_filter_value_names_the_field(client: UsageRecordsClient) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        list(client.list_usage_records(customer_ids=["00000000-c0de-4000-8000-000000000000", "nope"], timeout=30))
    details = error_details(failure.value)
    assert (details.code, details.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert "customer_ids[1]" in details.message or details.metadata.get("field") == "customer_ids[1]", details


def test_aio_filtered_list(server_address: str, emulator: Emulator, raw_records: list[dict[str, Any]]) -> None:
    expected = _expected(raw_records, lambda r: _percent(r) is not None and _percent(r) >= Decimal("100"))

    async def body() -> list[str]:
        async with open_aio_channel(server_address) as channel:
            client = AsyncUsageRecordsClient(channel, access_token=emulator.token)
            async with client.list_usage_records(min_percent_used=Decimal("100"), timeout=60) as stream:
                return [record.id async for record in stream]

    assert asyncio.run(body()) == expected
