"""Run by a fresh venv's interpreter with the installed pcusage_client (not this checkout's sources): lists every
record through the server, sync and aio, reads the error details of a refused call both ways, and prints a JSON
report for tests/test_install.py to check.

    python installed_smoke.py SERVER_ADDRESS ACCESS_TOKEN
"""

import asyncio
import importlib.metadata
import json
import sys

import grpc
import grpc.aio

import pcusage_client
from pcusage_client import (
    AsyncUsageRecordsClient,
    UsageRecordsClient,
    error_details,
    exact_sum,
    open_aio_channel,
    open_channel,
    optional_decimal,
    to_plain_string,
)


def _sync(address: str, token: str) -> dict:
    with open_channel(address) as channel:
        with UsageRecordsClient(channel, access_token=token).list_usage_records(timeout=60) as stream:
            records = list(stream)
        try:
            list(UsageRecordsClient(channel, access_token="wrong-token").list_usage_records(timeout=60))
            refused = None
        except grpc.RpcError as err:
            refused = error_details(err)
    costs = [c for c in (optional_decimal(r, "total_cost") for r in records) if c is not None]
    return {
        "ids": [r.id for r in records],
        "total_cost": to_plain_string(exact_sum(costs)),
        "refused": [refused.code.name, refused.reason] if refused else None,
    }


async def _aio(address: str, token: str) -> dict:
    async with open_aio_channel(address) as channel:
        async with AsyncUsageRecordsClient(channel, access_token=token).list_usage_records(timeout=60) as stream:
            ids = [r.id async for r in stream]
        try:
            async for _ in AsyncUsageRecordsClient(channel, access_token="wrong-token").list_usage_records(timeout=60):
                pass
            refused = None
        except grpc.aio.AioRpcError as err:
            refused = error_details(err)
    return {"ids": ids, "refused": [refused.code.name, refused.reason] if refused else None}


def main() -> None:
    address, token = sys.argv[1], sys.argv[2]
    report = {
        "module": pcusage_client.__file__,
        "version": pcusage_client.__version__,
        "versions": {
            name: importlib.metadata.version(name)
            for name in ("pcusage-client", "grpcio", "protobuf", "googleapis-common-protos")
        },
        "sync": _sync(address, token),
        "aio": asyncio.run(_aio(address, token)),
    }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
