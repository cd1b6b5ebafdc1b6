"""Calls per second to the sandbox: one pooled client vs. a new client per call (the baseline).

Both run in the same process against the same sandbox, interleaved in rounds so that machine
noise hits both alike; the figure that matters is the ratio.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

from calypso.client import CalypsoClient, CalypsoCredentials
from calypso.requests import CreatePayoutRequest
from sandbox.server import running_sandbox
from sandbox.settings import SandboxSettings

ROUNDS = 5
CALLS_PER_ROUND = 100
CONCURRENCY = 10
TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"


def _request() -> CreatePayoutRequest:
    return CreatePayoutRequest(
        deposit_address=TRON,
        amount=Decimal("1.5"),
        currency="USDT_TRX",
        idempotency_key=uuid.uuid4(),
        # Held until 2099, so the sandbox does no processing work during the measurement.
        execution_date=datetime(2099, 1, 1, tzinfo=UTC),
    )


async def _pooled(url: str, credentials: CalypsoCredentials) -> float:
    async with CalypsoClient(url, credentials) as client:
        return await _timed(lambda: client.create_payout(_request()))


async def _fresh_client_per_call(url: str, credentials: CalypsoCredentials) -> float:
    async def call() -> object:
        async with CalypsoClient(url, credentials) as client:
            return await client.create_payout(_request())

    return await _timed(call)


async def _timed(call: Callable[[], Awaitable[object]]) -> float:
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with semaphore:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(CALLS_PER_ROUND)))
    return CALLS_PER_ROUND / (time.perf_counter() - started)


async def _measure(url: str, credentials: CalypsoCredentials) -> tuple[float, float]:
    pooled: list[float] = []
    fresh: list[float] = []
    for _ in range(ROUNDS):
        fresh.append(await _fresh_client_per_call(url, credentials))
        pooled.append(await _pooled(url, credentials))
    return sorted(pooled)[ROUNDS // 2], sorted(fresh)[ROUNDS // 2]


def run() -> dict[str, str]:
    settings = SandboxSettings(step_delay_seconds=0.05)
    with running_sandbox(settings) as sandbox:
        credentials = CalypsoCredentials(settings.account, settings.api_key, settings.api_secret)
        pooled, fresh = asyncio.run(_measure(sandbox.url, credentials))
    return {
        "benchmark": "signed create_payout calls to the sandbox (loopback)",
        "baseline": f"new client per call: {fresh:.0f} calls/s",
        "measured": f"pooled client: {pooled:.0f} calls/s",
        "ratio": f"{pooled / fresh:.2f}x",
        "method": f"median of {ROUNDS} interleaved rounds of {CALLS_PER_ROUND} calls, "
        f"{CONCURRENCY} in flight",
    }
