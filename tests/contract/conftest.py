"""Fixtures for contract tests: the real client against the real sandbox over loopback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest

from calypso import wire
from calypso.client import CalypsoClient, CalypsoCredentials
from calypso.requests import CreateWebhookSubscriptionRequest
from sandbox.server import SandboxHandle, running_sandbox
from sandbox.settings import SandboxSettings
from starter.service.asgi_runner import serve_in_background
from tests.contract.webhook_inbox import WebhookInbox

SETTINGS = SandboxSettings(step_delay_seconds=0.02, webhook_time_scale=0.001)
EVM = "0x" + "1234567890" * 4
TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
# The control API answers from memory, but the sandbox runs on a thread of the test process: it
# shares the GIL with the test (and, in the integration tests, with a Temporal worker running
# up to a hundred deal workflows) on a 2-core machine that may be running other tests. One answer
# can then take seconds; httpx's default of 5 s once failed a finished 100,000-recipient run.
# Answers stay small (the lists summarise or page), so a minute is a hung sandbox, not a slow one.
CONTROL_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# `eventually`'s default: a generous bound for a condition that holds within a second on an idle
# machine (a payout of a few 20-50 ms steps, a webhook); 10 s was tight with another process
# keeping one of two cores busy. A check that passes returns at once, so the bound costs nothing.
EVENTUALLY_DEADLINE = 30.0


class Control:
    """The sandbox's unsigned control API (/sandbox/...)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(path, content=wire.dumps(body or {}))
        response.raise_for_status()
        return wire.loads(response.content)

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        response = await self.http.get(path, params=params)
        response.raise_for_status()
        return wire.loads(response.content)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(SETTINGS) as handle:
        yield handle


@pytest.fixture
async def control(sandbox: SandboxHandle) -> AsyncIterator[Control]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=CONTROL_TIMEOUT) as http:
        ctl = Control(http)
        await ctl.post("/sandbox/reset")
        yield ctl


def credentials(
    secret: str = SETTINGS.api_secret, key: str = SETTINGS.api_key
) -> CalypsoCredentials:
    return CalypsoCredentials(account=SETTINGS.account, api_key=key, api_secret=secret)


@pytest.fixture
async def client(sandbox: SandboxHandle, control: Control) -> AsyncIterator[CalypsoClient]:
    async with CalypsoClient(sandbox.url, credentials()) as calypso:
        yield calypso


@pytest.fixture
async def inbox(client: CalypsoClient) -> AsyncIterator[WebhookInbox]:
    """A verified webhook receiver subscribed to every PAYOUT event."""
    collector = WebhookInbox()
    async with serve_in_background(collector) as url:
        subscription = await client.create_webhook_subscription(
            CreateWebhookSubscriptionRequest(request_id=uuid.uuid4(), url=f"{url}/hook")
        )
        assert subscription.public_key and subscription.secret_key
        collector.keys[subscription.public_key] = subscription.secret_key
        yield collector


async def eventually(
    check: Callable[[], Awaitable[Any]],
    *,
    deadline: float = EVENTUALLY_DEADLINE,
    interval: float = 0.02,
) -> Any:
    """Await `check` until it returns something truthy, or fail after `deadline` seconds."""
    async with asyncio.timeout(deadline):
        while not (result := await check()):
            await asyncio.sleep(interval)
        return result
