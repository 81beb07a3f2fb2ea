"""The totals example (``python -m pcusage_client.examples.totals``) against totals computed from the raw JSON.

The expected report is computed here independently of the library: integer arithmetic on the JSON numbers' digits
and its own formatting. When PCUSAGE_TOTALS_OUT is set, the example's checked output is written there (tools/test
compares the three clients' files).
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from conftest import Emulator

EXAMPLE = [sys.executable, "-m", "pcusage_client.examples.totals"]


def _scaled(value: Decimal) -> tuple[int, int]:
    """A finite Decimal as (integer, scale): value == integer / 10**scale, scale >= 0."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    integer = int("".join(map(str, digits)) or "0")
    if exponent >= 0:
        integer, scale = integer * 10**exponent, 0
    else:
        scale = -exponent
    return (-integer if sign else integer), scale


def _plain(integer: int, scale: int) -> str:
    """integer / 10**scale as plain decimal text without trailing fractional zeros; "0" for zero."""
    if integer == 0:
        return "0"
    digits = str(abs(integer)).rjust(scale + 1, "0")
    whole, fraction = digits[: len(digits) - scale], digits[len(digits) - scale :]
    fraction = fraction.rstrip("0")
    text = whole + ("." + fraction if fraction else "")
    return ("-" if integer < 0 else "") + text


def expected_report(raw_records: list[dict[str, Any]]) -> str:
    groups: dict[str, list[Decimal]] = {}
    counts: dict[str, int] = {}
    for raw in raw_records:
        if raw.get("currencyCode"):
            key = raw["currencyCode"]
        elif raw.get("currencyLocale"):
            key = "locale:" + raw["currencyLocale"]
        else:
            key = "unknown"
        counts[key] = counts.get(key, 0) + 1
        groups.setdefault(key, [])
        if raw.get("totalCost") is not None:
            groups[key].append(raw["totalCost"])
    lines = []
    for key in sorted(counts, key=lambda k: k.encode("utf-8")):
        scaled = [_scaled(v) for v in groups[key]]
        scale = max((s for _, s in scaled), default=0)
        total = sum(i * 10 ** (scale - s) for i, s in scaled)
        lines.append(f"{key}\t{counts[key]}\t{_plain(total, scale)}\n")
    return "".join(lines)


def test_expected_report_helper() -> None:
    records = [
        {"currencyCode": "X", "totalCost": Decimal("1.50")},
        {"currencyCode": "X", "totalCost": Decimal("2.5E+1")},
        {"currencyLocale": "fr-FR", "totalCost": Decimal("-0.0")},
        {"currencyLocale": "fr-FR"},
        {"currencyCode": None, "currencyLocale": None, "totalCost": Decimal("-3.75")},
    ]
    assert expected_report(records) == "X\t2\t26.5\nlocale:fr-FR\t2\t0\nunknown\t1\t-3.75\n"
    assert _plain(0, 3) == "0" and _plain(-5, 3) == "-0.005" and _plain(1200, 2) == "12"


def test_totals_example_matches_the_raw_data(
    server_address: str, emulator: Emulator, raw_records: list[dict[str, Any]]
) -> None:
    expected = expected_report(raw_records)
    assert expected.count("\n") >= 2, "the data set should have several currencies"
    emulator.set_faults([])
    env = {**os.environ, "PCUSAGE_ACCESS_TOKEN": emulator.token}
    result = subprocess.run(
        [*EXAMPLE, "--server", server_address, "--timeout", "60"], env=env, capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode("utf-8") == expected
    if out := os.environ.get("PCUSAGE_TOTALS_OUT"):
        Path(out).write_bytes(result.stdout)


def test_totals_example_reports_errors(server_address: str) -> None:
    env = {**os.environ, "PCUSAGE_ACCESS_TOKEN": "wrong-token", "PCUSAGE_SERVER": server_address}
    result = subprocess.run(EXAMPLE, env=env, capture_output=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert "UNAUTHENTICATED" in stderr and "PARTNER_CENTER_UNAUTHENTICATED" in stderr, stderr
