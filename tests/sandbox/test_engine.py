"""The payout engine in-process (no HTTP): it survives a failing step and stops cleanly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest

from sandbox import SandboxSettings, engine
from sandbox.payout_requests import single_payout_from
from sandbox.records import Deal, PayoutState
from sandbox.runtime import SandboxRuntime


async def until(condition: Callable[[], bool]) -> None:
    # Milliseconds of work; 5 s was tight on a loaded 2-core machine, and a pass returns at once.
    async with asyncio.timeout(30):
        while not condition():
            await asyncio.sleep(0.005)


async def test_a_failing_step_is_logged_and_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "RETRY_AFTER_ERROR_SECONDS", 0.01)
    runtime = SandboxRuntime.build(SandboxSettings(step_delay_seconds=0.005))
    lifecycle = runtime.engine._lifecycle
    real_step = lifecycle.step
    failures: list[str] = []

    def flaky_step(deal: Deal, now: float) -> None:
        if not failures:
            failures.append(deal.id)
            raise RuntimeError("boom")
        real_step(deal, now)

    monkeypatch.setattr(lifecycle, "step", flaky_step)
    await runtime.start()
    try:
        payload = {
            "depositAddress": "0x" + "5" * 40,
            "amount": Decimal("1"),
            "currency": "USDC",
            "idempotencyKey": str(uuid.uuid4()),
        }
        deal = single_payout_from(runtime.state, runtime.settings.account, payload)
        runtime.engine.admit(deal)
        await until(lambda: deal.state is PayoutState.COMPLETED)
        assert failures == [deal.id]
    finally:
        await runtime.stop()
    assert runtime.engine._task is None
