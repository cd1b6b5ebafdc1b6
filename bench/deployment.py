"""The system as it is deployed, for benchmarks: each part in its own process.

A local dev server, and `payouts sandbox`, `payouts webhooks` and `payouts worker` as separate
processes reading one environment (as on several machines), so that the provider's emulator,
the receiver and the benchmark's own client do not share the worker's interpreter. In
`payouts dev` they share one process, which is fine for a demo and wrong for a measurement:
the provider is someone else's computer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client

from calypso.client import CalypsoClient
from calypso.requests import CreateWebhookSubscriptionRequest
from starter.local.dev_server import DevServer, running_dev_server
from starter.service.search_attribute_setup import register_search_attributes
from starter.service.settings import Settings
from starter.service.temporal_client import connect

READY_DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class Deployment:
    settings: Settings
    client: Client
    env: dict[str, str]  # what every process of the deployment reads
    home: Path
    receiver_url: str

    def process(self, name: str, *command: str) -> contextlib.AbstractContextManager[None]:
        """Another process of the deployment, run until the block ends (log: HOME/<name>.log)."""
        return _spawn(name, list(command), self.env, self.home)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def deployment(
    *, step_delay_seconds: float, worker: bool = True
) -> AsyncIterator[Deployment]:
    """Dev server, sandbox, receiver (subscribed to the sandbox) and, unless `worker=False`, one
    worker; the ledger is the embedded SQLite file under a fresh PAYOUTS_HOME."""
    with tempfile.TemporaryDirectory(prefix="payouts-bench-") as tmp, contextlib.ExitStack() as up:
        home = Path(tmp)
        address = f"127.0.0.1:{free_port()}"
        sandbox_port, receiver_port = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "CALYPSO_API_URL": sandbox_url,
            "PAYOUTS_HOME": str(home),
            "PAYOUTS_LOG_LEVEL": "WARNING",
            "SANDBOX_STEP_DELAY": str(step_delay_seconds),
        }
        server = DevServer(address, "default", free_port(), log_file=home / "temporal.log")
        up.enter_context(running_dev_server(server))
        client = await _connected(Settings.from_env(env))
        await register_search_attributes(client, "default")
        up.enter_context(
            _spawn("sandbox", [_payouts(), "sandbox", "--port", str(sandbox_port)], env, home)
        )
        await _answering(f"{sandbox_url}/sandbox/health")
        env["CALYPSO_WEBHOOK_KEYS"] = await _subscribed(
            Settings.from_env(env), f"{receiver_url}/webhooks/calypso"
        )
        up.enter_context(
            _spawn("receiver", [_payouts(), "webhooks", "--port", str(receiver_port)], env, home)
        )
        await _answering(f"{receiver_url}/healthz")
        if worker:
            up.enter_context(_spawn("worker", [_payouts(), "worker"], env, home))
        yield Deployment(Settings.from_env(env), client, env, home, receiver_url)


@contextlib.contextmanager
def _spawn(name: str, command: list[str], env: dict[str, str], home: Path) -> Iterator[None]:
    """Run `command` (its output in HOME/<name>.log) until the block ends."""
    with (home / f"{name}.log").open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own console scripts
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _payouts() -> str:
    return str(Path(sys.executable).parent / "payouts")


async def _connected(settings: Settings) -> Client:
    async with asyncio.timeout(READY_DEADLINE_SECONDS):
        while True:
            try:
                return await connect(settings)
            except RuntimeError:
                await asyncio.sleep(0.2)


async def _answering(url: str) -> None:
    async with httpx.AsyncClient(timeout=2) as http, asyncio.timeout(READY_DEADLINE_SECONDS):
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)


async def _subscribed(settings: Settings, url: str) -> str:
    """Subscribe `url` to the sandbox's webhooks; the `public:secret` pair the receiver accepts."""
    async with CalypsoClient(settings.calypso_api_url, settings.credentials) as calypso:
        subscription = await calypso.create_webhook_subscription(
            CreateWebhookSubscriptionRequest(request_id=uuid.uuid4(), url=url)
        )
    return f"{subscription.public_key}:{subscription.secret_key}"
