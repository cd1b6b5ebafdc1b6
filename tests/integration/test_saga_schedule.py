"""Future-dated payouts wait on a durable timer inside the saga, and can be rescheduled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.ledger import EntryState
from starter.api.outcomes import saga_result
from tests.contract.conftest import eventually
from tests.integration.conftest import (
    Stack,
    api_requests,
    ledger_state,
    provider_state_is,
    saga_status,
    timeline_notes,
    wait_for_status,
)
from workflows.payout_models import PayoutResult, RescheduleInput, SagaState
from workflows.single_payout import SinglePayoutWorkflow


async def test_payout_dated_in_30_days_waits_then_completes(
    time_skipping: WorkflowEnvironment, stack: Stack
) -> None:
    # The test server's clock is far from the wall clock once earlier tests skipped time.
    execution_date = await time_skipping.get_current_time() + timedelta(days=30)
    saga_input = stack.payout(execution_date=execution_date)
    handle = await stack.start(saga_input)

    # Time only skips while the result is awaited, so this is the saga waiting, not the test.
    scheduled = await wait_for_status(handle, lambda s: s.state == SagaState.SCHEDULED)
    assert scheduled.execution_date == execution_date
    assert await api_requests(stack.sandbox) == [], "nothing may reach the provider early"
    assert await stack.provider_payouts() == []

    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason
    assert len(await api_requests(stack.sandbox)) == 1
    status = await saga_status(handle)
    creating = next(e for e in status.timeline if e.state == SagaState.CREATING)
    assert creating.at >= execution_date, "created before its execution date"
    assert await ledger_state(stack, saga_input) == EntryState.SETTLED


async def test_reschedule_moves_the_execution_date(dev_stack: Stack) -> None:
    saga_input = dev_stack.payout(execution_date=datetime.now(UTC) + timedelta(days=30))
    handle = await dev_stack.start(saga_input)
    await wait_for_status(handle, lambda s: s.state == SagaState.SCHEDULED)

    later = datetime.now(UTC) + timedelta(days=60)
    moved = await handle.execute_update(
        SinglePayoutWorkflow.reschedule, RescheduleInput(execution_date=later)
    )
    assert moved.execution_date == later
    status = await saga_status(handle)
    assert status.state == SagaState.SCHEDULED
    assert status.execution_date == later
    assert ("rescheduled", later.isoformat()) in [
        (e.event, e.note) for e in status.timeline if e.source == "operator"
    ]

    # Brought forward to (almost) now, the saga wakes up from its 60-day timer and pays.
    soon = datetime.now(UTC) + timedelta(seconds=1)
    await handle.execute_update(
        SinglePayoutWorkflow.reschedule, RescheduleInput(execution_date=soon)
    )
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason
    assert (await saga_status(handle)).execution_date == soon
    assert len(await dev_stack.provider_payouts()) == 1


async def test_reschedule_without_timezone_is_rejected(dev_stack: Stack) -> None:
    saga_input = dev_stack.payout(execution_date=datetime.now(UTC) + timedelta(days=30))
    handle = await dev_stack.start(saga_input)
    await wait_for_status(handle, lambda s: s.state == SagaState.SCHEDULED)

    naive = datetime.now() + timedelta(days=2)  # deliberately naive
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            SinglePayoutWorkflow.reschedule, RescheduleInput(execution_date=naive)
        )
    assert "timezone" in str(refused.value.cause)
    status = await saga_status(handle)
    assert status.execution_date == saga_input.execution_date
    assert not timeline_notes(status, "operator")
    await handle.terminate("test over")


async def test_reschedule_after_the_payout_was_sent_is_refused(dev_stack: Stack) -> None:
    control = dev_stack.sandbox
    await control.post("/sandbox/config", {"verification": True})
    handle = await dev_stack.start(dev_stack.payout())
    sent = await wait_for_status(handle, lambda s: s.state == SagaState.SUBMITTED)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            SinglePayoutWorkflow.reschedule,
            RescheduleInput(execution_date=datetime.now(UTC) + timedelta(days=1)),
        )
    assert "too late to reschedule: the payout is SUBMITTED" in str(refused.value.cause)
    assert (await saga_status(handle)).execution_date is None

    # The refused update changed nothing: the payout goes through as sent.
    payout_id = str(sent.provider_id)
    await eventually(lambda: provider_state_is(control, payout_id, "PENDING_CONFIRMATION"))
    await control.post(f"/sandbox/payouts/{payout_id}/confirm")
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason
