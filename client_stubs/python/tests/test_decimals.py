"""The decimal helpers on their own (no server needed)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from google.type import decimal_pb2

from pcusage_client import SpendingBudget, exact_sum, optional_decimal, to_decimal, to_plain_string


def _d(text: str) -> decimal_pb2.Decimal:
    return decimal_pb2.Decimal(value=text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("120.5682999999995904716", ("0", 1205682999999995904716, -19)),
        ("1500.50", ("0", 150050, -2)),  # Trailing zeros are kept.
        ("1E+2", ("0", 1, 2)),
        ("2.5e-3", ("0", 25, -4)),
        ("-0.0", ("1", 0, -1)),
        ("79228162514264337593543950335", ("0", 79228162514264337593543950335, 0)),
        ("+2.5", ("0", 25, -1)),
        (".5", ("0", 5, -1)),
        ("7.", ("0", 7, 0)),
        ("", ("0", 0, 0)),  # decimal.proto: empty means 0.
    ],
)
def test_to_decimal_is_exact(text: str, expected: tuple[str, int, int]) -> None:
    value = to_decimal(_d(text))
    sign, digits, exponent = value.as_tuple()
    assert (str(sign), int("".join(map(str, digits))), exponent) == expected


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf", "1_000", " 1", "1,5", "1e", "e5", ".", "+", "٣"])
def test_to_decimal_rejects_text_outside_the_grammar(text: str) -> None:
    with pytest.raises(ValueError):
        to_decimal(_d(text))


def test_optional_decimal_keeps_presence() -> None:
    assert optional_decimal(SpendingBudget(), "amount") is None
    assert optional_decimal(SpendingBudget(amount=_d("0")), "amount") == Decimal(0)
    assert optional_decimal(SpendingBudget(amount=_d("")), "amount") == Decimal(0)


def test_exact_sum_does_not_round_at_28_digits() -> None:
    big = Decimal("79228162514264337593543950335")
    tiny = Decimal("0.0000000000000000000000000001")
    assert exact_sum([big, tiny]) == Decimal("79228162514264337593543950335.0000000000000000000000000001")
    assert exact_sum([Decimal("1E+100"), Decimal("1E-100")]) == Decimal("1" + "0" * 100 + "." + "0" * 99 + "1")
    assert exact_sum([]) == 0


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("26.50", "26.5"),
        ("2.5E+1", "25"),
        ("1E+2", "100"),
        ("-0.0", "0"),
        ("0E-7", "0"),
        ("-1.50", "-1.5"),
        ("1.000", "1"),
        ("-3.75E-5", "-0.0000375"),
        ("120.5682999999995904716", "120.5682999999995904716"),
    ],
)
def test_to_plain_string(value: str, text: str) -> None:
    assert to_plain_string(Decimal(value)) == text


def test_to_plain_string_rejects_infinity() -> None:
    with pytest.raises(ValueError):
        to_plain_string(Decimal("Infinity"))
