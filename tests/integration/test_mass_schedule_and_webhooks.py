"""A future-dated mass payout waits for its date (time-skipping server), and deals tolerate
duplicated and reordered webhooks (dev server, polling out of the way)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.ledger import EntryState
from tests.integration.conftest import TRON, Stack
from tests.integration.mass_support import (
    finished,
    ledger_states,
    mass_creates,
    mass_input,
    provider_mass_deals,
    start_mass,
)
from workflows.keys import mass_deal_key
from workflows.mass_models import ItemState
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import SagaState

SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


async def test_a_mass_payout_30_days_out_waits_then_completes(
    stack: Stack, time_skipping: WorkflowEnvironment
) -> None:
    # The test server's clock may already be ahead of the wall clock: date from its own clock.
    execution_date = (await time_skipping.get_current_time()) + timedelta(days=30)
    # One deal: on the time-skipping server, several deals polling at once can meet its race
    # between firing a timer and a saga canceling it (see test_mass_chunking.py).
    request = mass_input([TRON] * 5, items_per_deal=5, execution_date=execution_date)
    handle = await start_mass(stack, request)
    result = await finished(handle)
    assert result.state == SagaState.COMPLETED, result.reason
    assert result.counts[ItemState.COMPLETED] == 5

    # The saga's own record: scheduled first, paying only once the date had come.
    progress = await handle.query(MassPayoutWorkflow.progress)
    states = [(e.state, e.at) for e in progress.timeline if e.source == "saga" and e.state]
    order = [state for state, _ in states]
    assert order.index(SagaState.SCHEDULED) < order.index(SagaState.PAYING), order
    scheduled_at = next(at for state, at in states if state == SagaState.SCHEDULED)
    paying_at = next(at for state, at in states if state == SagaState.PAYING)
    assert scheduled_at < execution_date <= paying_at, states
    # Every deal's workflow (which sends the create) started at or after the date.
    for deal in result.deals:
        described = await stack.client.get_workflow_handle(deal.workflow_id).describe()
        assert described.start_time >= execution_date, (deal.index, described.start_time)

    # The provider saw exactly one create per deal, under the deal keys.
    creates = await mass_creates(stack)
    assert [call["idempotencyKey"] for call in creates] == [
        str(mass_deal_key(request.idempotency_key, 0))
    ]
    assert len(await provider_mass_deals(stack)) == 1


async def test_duplicated_and_reordered_webhooks_across_deals(dev_stack: Stack) -> None:
    await dev_stack.sandbox.post(
        "/sandbox/faults", {"webhookDuplicate": True, "webhookReorder": True}
    )
    # One poll an hour: within the test only webhooks (and the confirming read) move the deals.
    request = mass_input([TRON] * 7, items_per_deal=3, poll_interval_seconds=3600)
    handle = await start_mass(dev_stack, request)
    result = await finished(handle)

    assert result.state == SagaState.COMPLETED, result.reason
    assert result.counts == {ItemState.PENDING: 0, ItemState.COMPLETED: 7}
    assert [(d.state, d.attempts) for d in result.deals] == [(SagaState.COMPLETED, 1)] * 3
    progress = await handle.query(MassPayoutWorkflow.progress)
    assert progress.provider_deals_sent == 3

    deals = await provider_mass_deals(dev_stack)
    assert sorted(deal["idempotencyKey"] for deal in deals) == sorted(
        str(mass_deal_key(request.idempotency_key, n)) for n in range(3)
    )
    assert [deal["state"] for deal in deals] == ["COMPLETED"] * 3
    assert len(await mass_creates(dev_stack)) == 3
    assert await ledger_states(dev_stack, request) == [EntryState.SETTLED] * 7

    # The faults were in force: every deal's events went out twice and reached its workflow.
    for deal in deals:
        log: list[dict[str, Any]] = await dev_stack.sandbox.get(
            f"/sandbox/webhooks?payoutId={deal['id']}"
        )
        assert any(entry["duplicate"] for entry in log), log
        assert {entry["outcome"] for entry in log} == {"delivered"}, log
    for summary in result.deals:
        history = await dev_stack.client.get_workflow_handle(summary.workflow_id).fetch_history()
        assert any(event.event_type == SIGNALED for event in history.events), summary
