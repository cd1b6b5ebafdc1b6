"""Cancel is an update: before creation it stops the saga, after creation it asks the provider,
and when the provider refuses, the saga says so and keeps following the payout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.ledger import EntryState
from starter.api.outcomes import saga_result
from tests.contract.conftest import eventually
from tests.integration.conftest import (
    TRON,
    Stack,
    api_requests,
    ledger_state,
    provider_state_is,
    saga_status,
    wait_for_status,
)
from workflows.payout_models import CancelInput, PayoutResult, SagaState
from workflows.single_payout import SinglePayoutWorkflow

SLOW = TRON[:-4] + "sLow"  # the `5104` test card in base58: stays IN_PROGRESS 10 steps


async def test_cancel_before_creation_never_reaches_the_provider(dev_stack: Stack) -> None:
    saga_input = dev_stack.payout(execution_date=datetime.now(UTC) + timedelta(days=30))
    handle = await dev_stack.start(saga_input)
    await wait_for_status(handle, lambda s: s.state == SagaState.SCHEDULED)
    assert await ledger_state(dev_stack, saga_input) == EntryState.RESERVED

    outcome = await handle.execute_update(
        SinglePayoutWorkflow.cancel, CancelInput(reason="contract ended")
    )
    assert outcome.accepted, outcome.message
    assert outcome.state == SagaState.CANCELED
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.CANCELED
    assert result.reason == "contract ended"
    assert await ledger_state(dev_stack, saga_input) == EntryState.RELEASED
    assert await api_requests(dev_stack.sandbox) == []
    assert await dev_stack.provider_payouts() == []


async def test_cancel_after_creation_cancels_at_the_provider(dev_stack: Stack) -> None:
    control = dev_stack.sandbox
    await control.post("/sandbox/config", {"verification": True})
    saga_input = dev_stack.payout()
    handle = await dev_stack.start(saga_input)
    sent = await wait_for_status(handle, lambda s: s.provider_id is not None)
    payout_id = str(sent.provider_id)
    await eventually(lambda: provider_state_is(control, payout_id, "PENDING_CONFIRMATION"))

    outcome = await handle.execute_update(SinglePayoutWorkflow.cancel, CancelInput())
    assert outcome.accepted, outcome.message
    assert outcome.state == SagaState.CANCELED
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.CANCELED
    assert await provider_state_is(control, payout_id, "CANCELED")
    assert len(await dev_stack.provider_payouts()) == 1
    assert await ledger_state(dev_stack, saga_input) == EntryState.RELEASED


async def test_cancel_refused_by_the_provider_keeps_following(dev_stack: Stack) -> None:
    control = dev_stack.sandbox
    # Slower steps give a two-second IN_PROGRESS window in which to ask.
    await control.post("/sandbox/config", {"stepDelaySeconds": 0.2})
    saga_input = dev_stack.payout(deposit_address=SLOW, poll_interval_seconds=1.0)
    handle = await dev_stack.start(saga_input)
    sent = await wait_for_status(handle, lambda s: s.provider_id is not None)
    payout_id = str(sent.provider_id)
    await eventually(lambda: provider_state_is(control, payout_id, "IN_PROGRESS"))

    outcome = await handle.execute_update(SinglePayoutWorkflow.cancel, CancelInput())
    assert not outcome.accepted
    assert "the provider refused: payout is IN_PROGRESS" in outcome.message
    assert outcome.state == SagaState.SUBMITTED

    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason
    assert await ledger_state(dev_stack, saga_input) == EntryState.SETTLED
    status = await saga_status(handle)
    assert ("cancel", outcome.message) in [(e.event, e.note) for e in status.timeline]
    cancels = await api_requests(control, "/api/v1/payout/cancel")
    assert [c["errorCode"] for c in cancels] == ["012"]
