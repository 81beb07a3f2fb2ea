"""bench/compare's "pcusage + Python client" contender.

    python_pcusage.py --server 127.0.0.1:PORT [--page-size 1000]

Lists every record through the repo's Python client (client_stubs/python, run with its venv,
client_stubs/python/.venv), counts them and sums ``total_cost`` exactly per currency group (currency code, else
``locale:<currency locale>``, else ``unknown``). Prints one JSON line:
``{"records": N, "counts": {...}, "totals": {...}, "ttfr_s": S}``, ``ttfr_s`` measured from just before the call.
"""

from __future__ import annotations

import argparse
import decimal
import json
import sys
import time

import grpc

from pcusage_client import EXACT_CONTEXT, UsageRecordsClient, optional_decimal
from pcusage_client.examples.totals import group_key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=7200.0)
    args = parser.parse_args()

    records = 0
    ttfr = None
    counts: dict[str, int] = {}
    totals: dict[str, decimal.Decimal] = {}
    with grpc.insecure_channel(args.server) as channel:
        client = UsageRecordsClient(channel)
        start = time.monotonic()
        with client.list_usage_records(timeout=args.timeout, page_size=args.page_size) as stream:
            for record in stream:
                if ttfr is None:
                    ttfr = time.monotonic() - start
                records += 1
                key = group_key(record)
                counts[key] = counts.get(key, 0) + 1
                cost = optional_decimal(record, "total_cost")
                if cost is not None:
                    totals[key] = EXACT_CONTEXT.add(totals.get(key, decimal.Decimal(0)), cost)
    result = {"records": records, "counts": counts, "totals": {k: str(v) for k, v in totals.items()}, "ttfr_s": ttfr}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
