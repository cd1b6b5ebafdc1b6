"""The receiver's default (`PAYOUTS_WEBHOOKS_FORWARD=news`) against a real saga: the provider's
progress steps and exact repeats are answered 200 without a signal, news reaches the saga, and
the saga still ends paid, confirmed through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from starter.service.asgi_runner import serve_in_background
from starter.service.webhook_receiver import create_receiver_app
from tests.contract.conftest import Control, eventually
from tests.integration.conftest import Stack, start_stack
from tests.integration.test_webhook_receiver import (
    OLD_KEY,
    event_body,
    post,
    signals,
    signed,
    status_of,
    submitted,
    webhook_entries,
)
from workflows.payout_models import PayoutResult, PayoutStatus, SagaState


@pytest_asyncio.fixture
async def held_stack(
    time_skipping: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """Payouts held for confirmation at the provider: the saga hears only the test's webhooks."""
    await sandbox.post("/sandbox/config", {"verification": True})
    async with start_stack(
        time_skipping.client, sandbox_server, sandbox, tmp_path, webhooks=False
    ) as running:
        yield running


async def test_only_news_is_signalled_and_repeats_are_dropped(held_stack: Stack) -> None:
    saga_input = held_stack.payout()
    saga = await held_stack.start(saga_input)
    provider_id = (await submitted(saga)).attempts[0].provider_id
    key = saga_input.idempotency_key
    receiver = create_receiver_app(held_stack.client, dict([OLD_KEY]))  # forward="news"
    async with serve_in_background(receiver) as url, httpx.AsyncClient(timeout=30) as http:

        async def send(body: bytes) -> None:
            answer = await post(http, url, body, signed(body, *OLD_KEY))
            assert answer.status_code == 200, answer.text

        for status in ("CREATED", "CONFIRMED", "IN_PROGRESS"):  # progress: no signal
            await send(event_body(key, provider_id=provider_id, status=status))
        await send(
            event_body(key, provider_id=provider_id, status="CONFIRMED", kind="PAYOUT_CONFIRMED")
        )
        pending = event_body(key, provider_id=provider_id, status="PENDING_CONFIRMATION")
        await send(pending)
        await send(pending)  # an exact repeat: dropped

        async def seen() -> PayoutStatus | None:
            current = await status_of(saga)
            return current if webhook_entries(current) else None

        after = await eventually(seen)
        assert webhook_entries(after) == [("PAYOUT_CHANGE_STATUS", "PENDING_CONFIRMATION", None)]
        assert await signals(saga) == 1

        await held_stack.sandbox.post(f"/sandbox/payouts/{provider_id}/confirm")

        async def at_provider_completed() -> bool:
            payout = await held_stack.sandbox.get(f"/sandbox/payouts/{provider_id}")
            return bool(payout["state"] == "COMPLETED")

        await eventually(at_provider_completed, deadline=60)
        await send(event_body(key, provider_id=provider_id, status="COMPLETED"))
        result = await saga_result(saga, PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason
    assert await signals(saga) == 2  # PENDING_CONFIRMATION and COMPLETED
    final = await status_of(saga)
    assert ("api", "payout", "COMPLETED") in [(e.source, e.event, e.state) for e in final.timeline]
