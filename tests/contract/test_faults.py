"""Fault injection, observed through the real client and a real webhook receiver."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from calypso import errors
from calypso.client import CalypsoClient
from sandbox.server import SandboxHandle
from tests.contract.conftest import Control, credentials, eventually
from tests.contract.test_endpoints import payout_request
from tests.contract.test_scenarios import events_of, events_until
from tests.contract.webhook_inbox import WebhookInbox


async def test_error_rate_is_seeded_and_reproducible(
    client: CalypsoClient, control: Control
) -> None:
    async def failures() -> list[bool]:
        outcome = []
        for _ in range(30):
            try:
                await client.get_account()
                outcome.append(False)
            except errors.ServerError:
                outcome.append(True)
        return outcome

    await control.post("/sandbox/faults", {"errorRate": 0.5, "seed": 7})
    first = await failures()
    await control.post("/sandbox/faults", {"errorRate": 0.5, "seed": 7})
    second = await failures()
    assert first == second
    assert 0 < sum(first) < 30


async def test_added_latency(client: CalypsoClient, control: Control) -> None:
    await control.post("/sandbox/faults", {"latencyMs": 300})
    started = time.monotonic()
    await client.get_account()
    assert time.monotonic() - started >= 0.3


async def test_commit_then_drop_leaves_an_unknown_outcome_that_a_lookup_resolves(
    sandbox: SandboxHandle, control: Control
) -> None:
    await control.post("/sandbox/faults", {"commitThenDrop": 1})
    request = payout_request()
    async with CalypsoClient(sandbox.url, credentials(), timeout=1.0) as client:
        with pytest.raises(errors.OutcomeUnknownError):
            await client.create_payout(request)
        # It happened: the lookup by idempotencyKey finds it, and a blind retry is refused.
        found = await client.get_payout(idempotency_key=request.idempotency_key)
        assert found.amount == request.amount
        with pytest.raises(errors.DuplicateKeyError):
            await client.create_payout(request)
    assert len(await control.get("/sandbox/payouts")) == 1


async def test_webhook_retried_after_a_non_200(
    client: CalypsoClient, control: Control, inbox: WebhookInbox
) -> None:
    inbox.answer_status = 500
    created = await client.create_payout(payout_request())
    await events_until(inbox, created.id, "COMPLETED")
    deliveries = await control.get("/sandbox/webhooks")
    assert any(d["attempt"] > 1 for d in deliveries)


async def test_webhook_duplicate(
    client: CalypsoClient, control: Control, inbox: WebhookInbox
) -> None:
    await control.post("/sandbox/faults", {"webhookDuplicate": True})
    created = await client.create_payout(payout_request())

    async def every_event_twice() -> bool:
        counts = Counter(events_of(inbox, created.id))
        return counts[("PAYOUT_CHANGE_STATUS", "COMPLETED")] == 2 and set(counts.values()) == {2}

    await eventually(every_event_twice)


async def test_webhook_drop(client: CalypsoClient, control: Control, inbox: WebhookInbox) -> None:
    await control.post("/sandbox/faults", {"webhookDrop": 1})
    dropped = await client.create_payout(payout_request())
    # The first event of `dropped` never arrives; everything after it does.
    seen = await events_until(inbox, dropped.id, "COMPLETED")
    assert ("PAYOUT_CHANGE_STATUS", "CREATED") not in seen
    log = await control.get("/sandbox/webhooks")
    assert [entry["dropped"] for entry in log].count(True) == 1


async def test_webhook_reorder(
    client: CalypsoClient, control: Control, inbox: WebhookInbox
) -> None:
    await control.post("/sandbox/faults", {"webhookReorder": True})
    created = await client.create_payout(payout_request())
    order: list[str] = []

    async def all_arrived() -> bool:
        while not inbox.events.empty():
            event = inbox.events.get_nowait()
            if event.parent_external_id == created.id and event.type == "PAYOUT_CHANGE_STATUS":
                order.append(event.payout_status or "")
        return "COMPLETED" in order and "IN_PROGRESS" in order

    await eventually(all_arrived)
    assert order.index("COMPLETED") < order.index("IN_PROGRESS")


async def test_webhook_delay(client: CalypsoClient, control: Control, inbox: WebhookInbox) -> None:
    await control.post("/sandbox/faults", {"webhookDelayMs": 400})
    started = time.monotonic()
    created = await client.create_payout(payout_request())
    await events_until(inbox, created.id, "COMPLETED")
    assert time.monotonic() - started >= 0.4
