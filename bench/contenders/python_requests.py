"""bench/compare's Python baseline: the script a partner writes instead of running pcusage.

    python_requests.py --url http://127.0.0.1:PORT [--token x]

Fetches GET /v1/customers/usagerecords with ``requests``, follows ``links.next`` with its headers, reads every
number as :class:`decimal.Decimal` (``parse_float`` and ``parse_int``; quoted amounts too) and sums ``totalCost``
exactly per currency group (``currencyCode``, else ``locale:<currencyLocale>``, else ``unknown``). Run it with the
bench venv (bench/.venv, which has ``requests``). Prints one JSON line:
``{"records": N, "counts": {...}, "totals": {...}, "ttfr_s": S}``, ``ttfr_s`` being the time until the first
record was read.
"""

from __future__ import annotations

import argparse
import decimal
import json
import sys
import time
import urllib.parse

import requests

# Enough precision that no sum is ever rounded; Inexact would raise if one were.
EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.Inexact])


def group_key(item: dict) -> str:
    if item.get("currencyCode"):
        return item["currencyCode"]
    if item.get("currencyLocale"):
        return f"locale:{item['currencyLocale']}"
    return "unknown"


def as_decimal(value: object) -> decimal.Decimal | None:
    """A JSON amount as a Decimal: numbers already are; Partner Center sometimes quotes them."""
    if value is None:
        return None
    if isinstance(value, str):
        return decimal.Decimal(value)
    if isinstance(value, decimal.Decimal):
        return value
    raise TypeError(f"totalCost is not a number: {value!r}")


def pages(session: requests.Session, base: str):
    """Yields each page, following links.next."""
    url, headers = urllib.parse.urljoin(base, "/v1/customers/usagerecords"), {}
    while True:
        response = session.get(url, headers=headers, timeout=600)
        response.raise_for_status()
        page = response.json(parse_float=decimal.Decimal, parse_int=decimal.Decimal)
        yield page
        link = (page.get("links") or {}).get("next")
        if not link:
            return
        url = urllib.parse.urljoin(base, link["uri"])
        headers = {h["key"]: h["value"] for h in link.get("headers") or []}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="upstream root, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", default="bench")
    args = parser.parse_args()

    start = time.monotonic()
    ttfr = None
    records = 0
    counts: dict[str, int] = {}
    totals: dict[str, decimal.Decimal] = {}
    with requests.Session() as session:
        session.headers.update({"Authorization": f"Bearer {args.token}", "Accept": "application/json"})
        for page in pages(session, args.url):
            for item in page.get("items") or []:
                if ttfr is None:
                    ttfr = time.monotonic() - start
                records += 1
                key = group_key(item)
                counts[key] = counts.get(key, 0) + 1
                cost = as_decimal(item.get("totalCost"))
                if cost is not None:
                    totals[key] = EXACT.add(totals.get(key, decimal.Decimal(0)), cost)
    result = {"records": records, "counts": counts, "totals": {k: str(v) for k, v in totals.items()}, "ttfr_s": ttfr}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
