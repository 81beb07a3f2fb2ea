"""Exact money values: ``google.type.Decimal`` to :class:`decimal.Decimal` and back to plain text.

pcusage carries every amount as the decimal text Partner Center sent (``"120.5682999999995904716"``), never as a
binary float. These helpers keep it that way on the Python side: parse with :func:`to_decimal`, add with
:func:`exact_sum` (the default :mod:`decimal` context rounds to 28 digits; Partner Center sends up to 29), and print
with :func:`to_plain_string`. Going the other way, :func:`to_proto_decimal` turns a :class:`decimal.Decimal` or
decimal text into the ``google.type.Decimal`` of a request (a filter's ``min_percent_used``, a watch's thresholds),
and refuses a ``float``.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable

from google.protobuf.message import Message
from google.type import decimal_pb2

__all__ = [
    "EXACT_CONTEXT",
    "DecimalInput",
    "exact_sum",
    "optional_decimal",
    "to_decimal",
    "to_plain_string",
    "to_proto_decimal",
]

# google.type.Decimal's grammar (decimal.proto): [sign] significand [exponent], or the empty string for 0.
# decimal.Decimal() alone would also take "NaN", "Infinity", "1_000" and surrounding spaces.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)

EXACT_CONTEXT = decimal.Context(
    prec=decimal.MAX_PREC,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.Rounded, decimal.InvalidOperation, decimal.Overflow, decimal.Underflow],
)
"""A context in which addition and subtraction are exact: it raises rather than round."""


def to_decimal(value: decimal_pb2.Decimal) -> decimal.Decimal:
    """Returns the exact value of a ``google.type.Decimal``, digits and trailing zeros included.

    An empty ``value`` is 0, as decimal.proto says. Raises :class:`ValueError` when the text is not in
    google.type.Decimal's grammar (e.g. ``"NaN"``, ``"1,5"``).
    """
    text = value.value
    if text == "":
        return decimal.Decimal(0)
    if _DECIMAL_TEXT.fullmatch(text) is None:
        raise ValueError(f"not a google.type.Decimal value: {text!r}")
    return decimal.Decimal(text)  # Construction from a string is exact, whatever the context's precision.


DecimalInput = decimal.Decimal | str | int
"""What a request's decimal may be given as: exact values only (a ``float`` has already lost digits)."""


def to_proto_decimal(value: DecimalInput) -> decimal_pb2.Decimal:
    """Returns the ``google.type.Decimal`` of an exact value, spelled as given.

    A :class:`decimal.Decimal` must be finite and is written as ``str()`` writes it (``Decimal("80.0")`` stays
    ``"80.0"``, ``Decimal("1E+2")`` stays ``"1E+2"``); text must be in google.type.Decimal's grammar (``"80"``,
    ``"79.99999999999999999999"``, ``"8E+1"``; no spaces, ``NaN`` or ``_``) and is sent unchanged; an ``int`` is
    exact too. Raises :class:`TypeError` for a ``float`` (``0.1`` is not one tenth: pass ``Decimal("0.1")`` or
    ``"0.1"``), a ``bool`` or anything else, and :class:`ValueError` for text outside the grammar (the empty string
    included) or a decimal that is not finite.
    """
    if isinstance(value, bool) or not isinstance(value, (decimal.Decimal, str, int)):
        hint = ": a float is not exact, pass decimal.Decimal or decimal text" if isinstance(value, float) else ""
        raise TypeError(f"expected decimal.Decimal, str or int, got {type(value).__name__}{hint}")
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite decimal: {value}")
        text = str(value)
    elif isinstance(value, int):
        text = str(value)
    else:
        text = value
    if _DECIMAL_TEXT.fullmatch(text) is None:
        raise ValueError(f"not a google.type.Decimal value: {text!r}")
    return decimal_pb2.Decimal(value=text)


def optional_decimal(message: Message, field: str) -> decimal.Decimal | None:
    """Returns ``message.<field>`` as a :class:`decimal.Decimal`, or ``None`` when the field is unset.

    pcusage keeps presence: an unset ``total_cost`` means Partner Center sent none, which is not 0.
    """
    if not message.HasField(field):
        return None
    value = getattr(message, field)
    if not isinstance(value, decimal_pb2.Decimal):
        raise TypeError(f"{type(message).__name__}.{field} is not a google.type.Decimal")
    return to_decimal(value)


def exact_sum(values: Iterable[decimal.Decimal]) -> decimal.Decimal:
    """Adds decimals without rounding, however many digits the sum needs."""
    total = decimal.Decimal(0)
    for value in values:
        total = EXACT_CONTEXT.add(total, value)
    return total


def to_plain_string(value: decimal.Decimal) -> str:
    """Writes a finite decimal without exponent and without trailing fractional zeros.

    ``Decimal("2.650E+1")`` gives ``"26.5"``, ``Decimal("-0.0")`` gives ``"0"``, ``Decimal("-1.50")`` gives
    ``"-1.5"``.
    """
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {value}")
    if value.is_zero():
        return "0"
    text = format(value, "f")  # Fixed-point with every digit: format() rounds only when given a precision.
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
