"""Lists every usage record through a pcusage server and prints exact per-currency totals of ``total_cost``.

::

    PCUSAGE_ACCESS_TOKEN=... [PCUSAGE_API_KEY=...] python -m pcusage_client.examples.totals
        [--server HOST:PORT] [--timeout SECONDS] [--page-size N]
        [--tls] [--ca-file PEM] [--cert-file PEM --key-file PEM] [--server-name NAME]

One line per currency, sorted by key: ``<key>\\t<records>\\t<total>``. The key is the currency code, else
``locale:<currency locale>``, else ``unknown``; a record without ``total_cost`` counts but adds nothing. Totals are
summed with :class:`decimal.Decimal`, never floats, and written without exponent or trailing zeros. On failure it
prints the gRPC code, message and ErrorInfo reason to stderr and exits 1.

The Partner Center token in ``PCUSAGE_ACCESS_TOKEN`` is sent as ``authorization: Bearer`` metadata, the caller's API
key in ``PCUSAGE_API_KEY`` as ``x-api-key`` (in plaintext only to a loopback address). The connection speaks TLS with
``--tls`` or any other TLS flag: ``--ca-file`` trusts those CAs instead of gRPC's roots, ``--cert-file`` and
``--key-file`` present a client certificate, ``--server-name`` is the name to check in the server's certificate.
"""

from __future__ import annotations

import argparse
import decimal
import ipaddress
import os
import sys
from collections.abc import Iterable, Sequence

import grpc

from pcusage_client import (
    CustomerMonthlyUsageRecord,
    TlsOptions,
    UsageRecordsClient,
    error_details,
    exact_sum,
    open_channel,
    optional_decimal,
    to_plain_string,
)

DEFAULT_SERVER = "127.0.0.1:50051"


def group_key(record: CustomerMonthlyUsageRecord) -> str:
    """The record's currency group: its code, else its locale, else ``unknown``."""
    if record.currency_code:
        return record.currency_code
    if record.currency_locale:
        return f"locale:{record.currency_locale}"
    return "unknown"


def compute_totals(records: Iterable[CustomerMonthlyUsageRecord]) -> dict[str, tuple[int, decimal.Decimal]]:
    """Counts the records of each currency group and sums their ``total_cost`` exactly."""
    counts: dict[str, int] = {}
    costs: dict[str, list[decimal.Decimal]] = {}
    for record in records:
        key = group_key(record)
        counts[key] = counts.get(key, 0) + 1
        cost = optional_decimal(record, "total_cost")
        costs.setdefault(key, [])
        if cost is not None:
            costs[key].append(cost)
    return {key: (counts[key], exact_sum(costs[key])) for key in counts}


def format_totals(totals: dict[str, tuple[int, decimal.Decimal]]) -> str:
    """The report: one ``key<TAB>records<TAB>total`` line per group, keys in bytewise (UTF-8) order."""
    lines = []
    for key in sorted(totals, key=lambda k: k.encode("utf-8")):
        count, total = totals[key]
        lines.append(f"{key}\t{count}\t{to_plain_string(total)}\n")
    return "".join(lines)


def is_loopback(target: str) -> bool:
    """Whether ``host:port`` names this machine by a loopback address or ``localhost``."""
    host = target.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the example; returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="pcusage-totals",
        description="Print exact per-currency totals of total_cost over all usage records. "
        "The Partner Center token is read from PCUSAGE_ACCESS_TOKEN, the caller's pcusage API key from "
        "PCUSAGE_API_KEY.",
    )
    parser.add_argument(
        "--server",
        default=os.environ.get("PCUSAGE_SERVER") or DEFAULT_SERVER,
        help="pcusage server address (default: $PCUSAGE_SERVER, else %(default)s)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="deadline of the call in seconds (default: 60)")
    parser.add_argument("--page-size", type=int, default=0, help="records per response message (default: server's)")
    parser.add_argument("--tls", action="store_true", help="speak TLS, trusting gRPC's roots (implied by the below)")
    parser.add_argument("--ca-file", help="PEM file of the CAs that sign the server's certificate")
    parser.add_argument("--cert-file", help="client certificate chain (PEM file) for mTLS, with --key-file")
    parser.add_argument("--key-file", help="private key (PEM file) of --cert-file")
    parser.add_argument("--server-name", help="name to check in the server's certificate (default: the host)")
    args = parser.parse_args(argv)

    token = os.environ.get("PCUSAGE_ACCESS_TOKEN") or None
    api_key = os.environ.get("PCUSAGE_API_KEY") or None
    tls: TlsOptions | None = None
    try:
        if args.tls or args.ca_file or args.cert_file or args.key_file or args.server_name:
            tls = TlsOptions(
                ca_file=args.ca_file, cert_file=args.cert_file, key_file=args.key_file, server_name=args.server_name
            )
        if api_key and tls is None and not is_loopback(args.server):
            parser.error("PCUSAGE_API_KEY is sent in plaintext only to a loopback address: add --tls")
        channel = open_channel(args.server, tls=tls)
    except (OSError, ValueError) as err:
        print(f"pcusage-totals: {err}", file=sys.stderr)
        return 2
    with channel:
        client = UsageRecordsClient(channel, access_token=token, api_key=api_key)
        try:
            with client.list_usage_records(timeout=args.timeout, page_size=args.page_size) as stream:
                totals = compute_totals(stream)
        except grpc.RpcError as err:
            details = error_details(err)
            print(
                f"pcusage-totals: {details.code.name}: {details.message} (reason: {details.reason or 'none'})",
                file=sys.stderr,
            )
            return 1
    sys.stdout.buffer.write(format_totals(totals).encode("utf-8"))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
