"""API keys and TLS, sync and aio, against pcusage_server processes this module starts in front of the emulator.

One server speaks TLS (a certificate for ``Pki.SERVER_NAME`` only) and requires API keys (``--api_keys_file``);
another requires client certificates (``--tls_client_ca_file``) named on its allow list. Certificates are made at
test time by the openssl CLI; API key lines are made as ``pcusage_api_key`` makes them (docs/security.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from conftest import Emulator, Pki, pcusage_server
from test_totals_example import EXAMPLE, expected_report
from pcusage_client import (
    AsyncUsageRecordsClient,
    ErrorDetails,
    TlsOptions,
    UsageRecordsClient,
    error_details,
    open_aio_channel,
    open_channel,
)

API_KEY = "py-" + secrets.token_hex(16)
CLIENT_NAME = "python-client"


def _api_key_line(name: str, key: str) -> str:
    """An --api_keys_file line: name, random salt (hex), SHA-256 of salt + key (hex)."""
    salt = secrets.token_bytes(16)
    return f"{name} {salt.hex()} {hashlib.sha256(salt + key.encode()).hexdigest()}\n"


@pytest.fixture(scope="module")
def keyed_tls_server(emulator: Emulator, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a TLS server that lets in callers with API_KEY (named ``python``)."""
    keys = tmp_path_factory.mktemp("keys") / "api_keys"
    keys.write_text(_api_key_line("python", API_KEY))
    flags = [
        f"--api_keys_file={keys}",
        f"--tls_cert_file={pki.server.cert_file}",
        f"--tls_key_file={pki.server.key_file}",
    ]
    with pcusage_server(emulator, *flags) as port:
        yield f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def mtls_server(emulator: Emulator, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a TLS server that lets in callers whose client certificate names CLIENT_NAME."""
    allow = tmp_path_factory.mktemp("allow") / "allow_list"
    allow.write_text(f"{CLIENT_NAME}\n")
    flags = [
        f"--tls_cert_file={pki.server.cert_file}",
        f"--tls_key_file={pki.server.key_file}",
        f"--tls_client_ca_file={pki.ca.cert_file}",
        f"--client_allow_list_file={allow}",
    ]
    with pcusage_server(emulator, *flags) as port:
        yield f"127.0.0.1:{port}"


def _list_sync(address: str, tls: TlsOptions | None, **client_args: Any) -> list[str]:
    with open_channel(address, tls=tls) as channel:
        with UsageRecordsClient(channel, **client_args).list_usage_records(timeout=60) as stream:
            return [record.id for record in stream]


def _list_aio(address: str, tls: TlsOptions | None, **client_args: Any) -> list[str]:
    async def body() -> list[str]:
        async with open_aio_channel(address, tls=tls) as channel:
            async with AsyncUsageRecordsClient(channel, **client_args).list_usage_records(timeout=60) as stream:
                return [record.id async for record in stream]

    return asyncio.run(body())


def _failure_sync(address: str, tls: TlsOptions | None, **client_args: Any) -> ErrorDetails:
    with pytest.raises(grpc.RpcError) as failure:
        _list_sync(address, tls, **client_args)
    return error_details(failure.value)


def _failure_aio(address: str, tls: TlsOptions | None, **client_args: Any) -> ErrorDetails:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        _list_aio(address, tls, **client_args)
    return error_details(failure.value)


def _server_tls(pki: Pki, **overrides: Any) -> TlsOptions:
    return TlsOptions(**{"ca_file": pki.ca.cert_file, "server_name": Pki.SERVER_NAME, **overrides})


@pytest.mark.parametrize("lister", [_list_sync, _list_aio], ids=["sync", "aio"])
def test_api_key_over_tls_lets_the_caller_in(
    lister, keyed_tls_server: str, emulator: Emulator, pki: Pki, raw_records: list[dict[str, Any]]
) -> None:
    ids = lister(keyed_tls_server, _server_tls(pki), access_token=emulator.token, api_key=API_KEY)
    assert ids == [r["id"] for r in raw_records]


@pytest.mark.parametrize("failure", [_failure_sync, _failure_aio], ids=["sync", "aio"])
@pytest.mark.parametrize("api_key", [None, "py-" + "0" * 32], ids=["no key", "wrong key"])
def test_missing_or_wrong_api_key_is_caller_unauthenticated(
    failure, api_key: str | None, keyed_tls_server: str, emulator: Emulator, pki: Pki
) -> None:
    details = failure(keyed_tls_server, _server_tls(pki), access_token=emulator.token, api_key=api_key)
    assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CALLER_UNAUTHENTICATED"), details
    assert API_KEY not in details.message


@pytest.mark.parametrize("failure", [_failure_sync, _failure_aio], ids=["sync", "aio"])
def test_tls_checks_the_server_name(failure, keyed_tls_server: str, emulator: Emulator, pki: Pki) -> None:
    # The certificate names only Pki.SERVER_NAME, not the address dialled.
    details = failure(
        keyed_tls_server, TlsOptions(ca_file=pki.ca.cert_file), access_token=emulator.token, api_key=API_KEY
    )
    assert details.code == grpc.StatusCode.UNAVAILABLE, details


@pytest.mark.parametrize("failure", [_failure_sync, _failure_aio], ids=["sync", "aio"])
def test_tls_refuses_a_server_of_another_ca(failure, keyed_tls_server: str, emulator: Emulator, pki: Pki) -> None:
    tls = _server_tls(pki, ca_file=pki.other_ca.cert_file)
    details = failure(keyed_tls_server, tls, access_token=emulator.token, api_key=API_KEY)
    assert details.code == grpc.StatusCode.UNAVAILABLE, details


@pytest.mark.parametrize("lister", [_list_sync, _list_aio], ids=["sync", "aio"])
def test_allowed_client_certificate_lets_the_caller_in(
    lister, mtls_server: str, emulator: Emulator, pki: Pki, raw_records: list[dict[str, Any]]
) -> None:
    client = pki.client(CLIENT_NAME)
    tls = _server_tls(pki, cert_file=client.cert_file, key_file=client.key_file)
    assert lister(mtls_server, tls, access_token=emulator.token) == [r["id"] for r in raw_records]


@pytest.mark.parametrize("failure", [_failure_sync, _failure_aio], ids=["sync", "aio"])
def test_client_certificate_not_on_the_allow_list_is_caller_unauthenticated(
    failure, mtls_server: str, emulator: Emulator, pki: Pki
) -> None:
    intruder = pki.client("intruder")
    tls = _server_tls(pki, cert_file=intruder.cert_file, key_file=intruder.key_file)
    details = failure(mtls_server, tls, access_token=emulator.token)
    assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CALLER_UNAUTHENTICATED"), details


@pytest.mark.parametrize("failure", [_failure_sync, _failure_aio], ids=["sync", "aio"])
def test_mtls_server_refuses_a_caller_without_certificate_or_of_another_ca(
    failure, mtls_server: str, emulator: Emulator, pki: Pki
) -> None:
    assert failure(mtls_server, _server_tls(pki), access_token=emulator.token).code == grpc.StatusCode.UNAVAILABLE
    stranger = pki.client(CLIENT_NAME + "-other-ca", ca=pki.other_ca)
    tls = _server_tls(pki, cert_file=stranger.cert_file, key_file=stranger.key_file)
    assert failure(mtls_server, tls, access_token=emulator.token).code == grpc.StatusCode.UNAVAILABLE


def test_tls_options_need_certificate_and_key_together(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="together"):
        TlsOptions(cert_file=tmp_path / "client.pem")
    with pytest.raises(ValueError, match="together"):
        TlsOptions(key_file=tmp_path / "client.key")
    with pytest.raises(OSError):
        TlsOptions(ca_file=tmp_path / "missing.pem").credentials()


def _totals(address: str, *flags: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PCUSAGE_")} | env
    return subprocess.run([*EXAMPLE, "--server", address, *flags], env=environment, capture_output=True, timeout=120)


def test_totals_example_over_tls_with_an_api_key(
    keyed_tls_server: str, emulator: Emulator, pki: Pki, raw_records: list[dict[str, Any]]
) -> None:
    flags = ["--ca-file", str(pki.ca.cert_file), "--server-name", Pki.SERVER_NAME]
    result = _totals(keyed_tls_server, *flags, PCUSAGE_ACCESS_TOKEN=emulator.token, PCUSAGE_API_KEY=API_KEY)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == expected_report(raw_records)

    refused = _totals(keyed_tls_server, *flags, PCUSAGE_ACCESS_TOKEN=emulator.token)
    assert refused.returncode == 1 and b"CALLER_UNAUTHENTICATED" in refused.stderr, refused.stderr


def test_totals_example_over_mtls(
    mtls_server: str, emulator: Emulator, pki: Pki, raw_records: list[dict[str, Any]]
) -> None:
    client = pki.client(CLIENT_NAME)
    flags = ["--ca-file", str(pki.ca.cert_file), "--server-name", Pki.SERVER_NAME]
    flags += ["--cert-file", str(client.cert_file), "--key-file", str(client.key_file)]
    result = _totals(mtls_server, *flags, PCUSAGE_ACCESS_TOKEN=emulator.token)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == expected_report(raw_records)


def test_totals_example_sends_no_api_key_in_plaintext_off_loopback(pki: Pki) -> None:
    result = _totals("pcusage.example:50051", PCUSAGE_API_KEY=API_KEY)
    assert result.returncode == 2 and b"plaintext only to a loopback address" in result.stderr, result.stderr
    assert API_KEY.encode() not in result.stderr
    half = _totals("127.0.0.1:1", "--cert-file", str(pki.directory / "client.pem"))
    assert half.returncode == 2 and b"cert_file and key_file go together" in half.stderr, half.stderr
