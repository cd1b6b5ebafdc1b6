"""Webhooks are hints: duplicates and any order leave one payout, completed once; none at all
leaves polling to finish the job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.ledger import EntryState
from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from tests.contract.conftest import Control, eventually
from tests.integration.conftest import (
    Stack,
    ledger_state,
    provider_state_is,
    saga_status,
    start_stack,
    timeline_notes,
    wait_for_status,
)
from workflows.payout_models import PayoutResult, SagaState

# Long enough that no poll happens during these tests: webhooks alone move the saga.
NO_POLLING = 120.0


async def test_duplicate_and_stale_webhooks_complete_the_saga_once(dev_stack: Stack) -> None:
    control = dev_stack.sandbox
    await control.post("/sandbox/config", {"verification": True})
    await control.post("/sandbox/faults", {"webhookDuplicate": True, "webhookReorder": True})
    saga_input = dev_stack.payout(poll_interval_seconds=NO_POLLING)
    handle = await dev_stack.start(saga_input)
    submitted = await wait_for_status(handle, lambda s: s.provider_id is not None)
    assert submitted.provider_id is not None
    payout_id = submitted.provider_id
    await eventually(lambda: provider_state_is(control, payout_id, "PENDING_CONFIRMATION"))

    # The held CREATED and PENDING_CONFIRMATION events arrive newest first, each twice.
    await control.post("/sandbox/webhooks/release")
    status = await wait_for_status(
        handle, lambda s: ("CREATED", "ignored: stale") in timeline_notes(s, "webhook")
    )
    assert status.provider_state == "PENDING_CONFIRMATION"

    # From here on events flow in order, but still duplicated.
    await control.post("/sandbox/faults", {"webhookReorder": False})
    await control.post(f"/sandbox/payouts/{payout_id}/confirm")
    result = await saga_result(handle, PayoutResult)

    assert result.state == SagaState.COMPLETED, result.reason
    assert result.tx_hash
    status = await saga_status(handle)
    webhooks = timeline_notes(status, "webhook")
    assert webhooks.count(("CREATED", "ignored: stale")) == 1
    assert ("PENDING_CONFIRMATION", "ignored: duplicate") in webhooks
    assert ("CONFIRMED", "ignored: duplicate") in webhooks
    assert not timeline_notes(status, "poll"), "webhooks alone should have moved the saga"
    assert timeline_notes(status, "saga").count(("COMPLETED", None)) == 1
    assert len(await dev_stack.provider_payouts()) == 1
    assert await ledger_state(dev_stack, saga_input) == EntryState.SETTLED
    deliveries: list[dict[str, Any]] = await control.get(f"/sandbox/webhooks?payoutId={payout_id}")
    assert any(d["duplicate"] for d in deliveries), "the fault should have doubled deliveries"


async def test_webhooks_newest_first_are_confirmed_through_the_api(dev_stack: Stack) -> None:
    await dev_stack.sandbox.post("/sandbox/faults", {"webhookReorder": True})
    saga_input = dev_stack.payout(poll_interval_seconds=NO_POLLING)
    handle = await dev_stack.start(saga_input)
    result = await saga_result(handle, PayoutResult)

    assert result.state == SagaState.COMPLETED, result.reason
    status = await saga_status(handle)
    # The terminal event came first; the saga did not trust it but read the payout back.
    first_webhook = next(e for e in status.timeline if e.source == "webhook")
    assert first_webhook.state == "COMPLETED"
    assert ("COMPLETED", None) in timeline_notes(status, "api")
    assert not timeline_notes(status, "poll")
    assert len(await dev_stack.provider_payouts()) == 1
    assert await ledger_state(dev_stack, saga_input) == EntryState.SETTLED


async def test_without_webhooks_polling_finishes_the_saga(
    time_skipping: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    async with start_stack(
        time_skipping.client, sandbox_server, sandbox, tmp_path, webhooks=False
    ) as stack:
        saga_input = stack.payout()
        handle = await stack.start(saga_input)
        result = await saga_result(handle, PayoutResult)

        assert result.state == SagaState.COMPLETED, result.reason
        assert result.tx_hash
        status = await saga_status(handle)
        assert not timeline_notes(status, "webhook")
        polled = [state for state, _ in timeline_notes(status, "poll")]
        assert "COMPLETED" in polled
        assert len(await stack.provider_payouts()) == 1
        assert await ledger_state(stack, saga_input) == EntryState.SETTLED
        assert await sandbox.get("/sandbox/webhooks") == []
