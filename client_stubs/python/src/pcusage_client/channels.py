"""Opening a channel to pcusage, sync or ``grpc.aio``: plaintext on loopback, else TLS with a private CA and a
client certificate when the server asks for one (``--tls_client_ca_file``).

::

    tls = TlsOptions(ca_file="ca.pem", cert_file="client.pem", key_file="client.key")
    with open_channel("pcusage.example:50051", tls=tls) as channel: ...
    async with open_aio_channel("pcusage.example:50051", tls=tls) as channel: ...
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

__all__ = ["TlsOptions", "open_aio_channel", "open_channel"]

StrPath = str | os.PathLike[str]


@dataclasses.dataclass(frozen=True)
class TlsOptions:
    """How to speak TLS to pcusage: which CA to trust, and the client certificate to present.

    ``ca_file`` is a PEM bundle of the CAs that may sign the server's certificate; ``None`` trusts gRPC's default
    roots. ``cert_file`` and ``key_file`` (PEM, together or not at all) are the client certificate chain and its key,
    for a server that verifies callers by certificate. ``server_name`` overrides the name the server's certificate
    must carry (by default the host of the target), e.g. when connecting by address.
    """

    ca_file: StrPath | None = None
    cert_file: StrPath | None = None
    key_file: StrPath | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("TlsOptions: cert_file and key_file go together")

    def credentials(self) -> grpc.ChannelCredentials:
        """The channel credentials, with the files read now (raises :class:`OSError` when one cannot be read)."""

        def read(path: StrPath | None) -> bytes | None:
            return None if path is None else Path(path).read_bytes()

        return grpc.ssl_channel_credentials(
            root_certificates=read(self.ca_file),
            private_key=read(self.key_file),
            certificate_chain=read(self.cert_file),
        )

    def channel_options(self) -> list[tuple[str, Any]]:
        """The channel arguments these options need besides the credentials."""
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []


def open_channel(
    target: str, *, tls: TlsOptions | None = None, options: Sequence[tuple[str, Any]] = ()
) -> grpc.Channel:
    """A sync channel to ``target`` (``host:port``): TLS with ``tls``, plaintext without (for loopback only: the
    caller's tokens and API key cross it in the clear). ``options`` are extra gRPC channel arguments."""
    if tls is None:
        return grpc.insecure_channel(target, options=list(options))
    return grpc.secure_channel(target, tls.credentials(), options=[*tls.channel_options(), *options])


def open_aio_channel(
    target: str, *, tls: TlsOptions | None = None, options: Sequence[tuple[str, Any]] = ()
) -> grpc.aio.Channel:
    """The ``grpc.aio`` twin of :func:`open_channel` (create it inside the event loop that uses it)."""
    if tls is None:
        return grpc.aio.insecure_channel(target, options=list(options))
    return grpc.aio.secure_channel(target, tls.credentials(), options=[*tls.channel_options(), *options])
