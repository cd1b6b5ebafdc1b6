"""A real connection through mutual TLS, configured only by TEMPORAL_* variables: a throwaway CA
signs a server and a client certificate, and an in-test TLS-terminating proxy that demands a
client certificate stands in front of the dev server (which speaks plain TCP)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from starter.service.settings import Settings
from starter.service.temporal_client import connect
from tests.integration.throwaway_pki import SERVER_NAME, Pki, make_pki

CONNECT_DEADLINE_SECONDS = 30.0


@contextlib.asynccontextmanager
async def mtls_proxy(pki: Pki, upstream: str) -> AsyncIterator[tuple[str, list[str]]]:
    """TLS on the outside (client certificate required, HTTP/2 by ALPN), plain TCP to
    `upstream`. Yields its host:port and the subjects of the clients it let through."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.load_verify_locations(pki.ca_cert)
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    host, _, port = upstream.rpartition(":")
    admitted: list[str] = []
    pipes: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        admitted.append(str(peer.get("subject", "")))
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        for pipe in (_pipe(reader, up_writer), _pipe(up_reader, writer)):
            task = asyncio.create_task(pipe)
            pipes.add(task)
            task.add_done_callback(pipes.discard)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    bound = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{bound}", admitted
    finally:
        server.close()
        for task in list(pipes):
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


async def test_mtls_with_a_client_certificate_connects(
    dev_server: WorkflowEnvironment, pki: Pki
) -> None:
    upstream = dev_server.client.service_client.config.target_host
    async with mtls_proxy(pki, upstream) as (address, admitted):
        settings = Settings.from_env(
            {
                "TEMPORAL_ADDRESS": address,
                "TEMPORAL_NAMESPACE": dev_server.client.namespace,
                "TEMPORAL_TLS_CLIENT_CERT_PATH": str(pki.client_cert),
                "TEMPORAL_TLS_CLIENT_KEY_PATH": str(pki.client_key),
                "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca_cert),
                "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
            }
        )
        async with asyncio.timeout(CONNECT_DEADLINE_SECONDS):
            client = await connect(settings)
            assert await client.count_workflows() is not None  # a real RPC through the proxy
        assert any("payouts test client" in subject for subject in admitted)


async def test_without_the_client_certificate_the_connection_is_refused(
    dev_server: WorkflowEnvironment, pki: Pki
) -> None:
    upstream = dev_server.client.service_client.config.target_host
    async with mtls_proxy(pki, upstream) as (address, admitted):
        settings = Settings.from_env(
            {
                "TEMPORAL_ADDRESS": address,
                "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca_cert),
                "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
            }
        )
        async with asyncio.timeout(CONNECT_DEADLINE_SECONDS):
            with pytest.raises(RuntimeError) as refused:
                await connect(settings)
        assert admitted == []  # the handshake failed: no client certificate, no connection
        # TLS 1.2 fails the handshake itself; under TLS 1.3 the client finishes its side first and
        # sees the proxy close the connection on the first call. Either way a transport error,
        # not an answer from Temporal.
        assert "transport" in str(refused.value).lower()
