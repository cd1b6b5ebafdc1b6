"""Cancel and reschedule a mass payout (updates: on the dev server, where time is real).

Part-way: the deal already IN_PROGRESS at the provider cannot be canceled (012) and is paid; the
deals not yet sent never reach the provider and their items are released. Before the execution
date: nothing reaches the provider at all. Reschedule moves the durable timer.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from activities.ledger import EntryState
from tests.contract.conftest import eventually
from tests.integration.conftest import TRON, Stack
from tests.integration.mass_support import (
    SLOW,
    MassHandle,
    finished,
    ledger_states,
    mass_creates,
    mass_input,
    provider_mass_deals,
    report,
    start_mass,
    wait_for_progress,
)
from workflows.keys import mass_deal_key
from workflows.mass_models import ItemState, MassCancelResult
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import CancelInput, RescheduleInput, SagaState

ITEMS, PER_DEAL = 8, 2
MASS_CANCEL = "/api/v1/payout/mass/cancel"


async def test_cancel_part_way_pays_the_deal_in_flight_and_releases_the_rest(
    dev_stack: Stack,
) -> None:
    # Ten steps of 0.2 s IN_PROGRESS for the slow card: a 2 s window for the cancel to land in.
    await dev_stack.sandbox.post("/sandbox/config", {"stepDelaySeconds": 0.2})
    request = mass_input([SLOW] * ITEMS, items_per_deal=PER_DEAL, max_parallel_deals=1)
    handle = await start_mass(dev_stack, request)

    async def deal_in_progress() -> bool:
        deals = await provider_mass_deals(dev_stack)
        return [deal["state"] for deal in deals] == ["IN_PROGRESS"]

    await eventually(deal_in_progress, deadline=60)  # ~2 s idle; 20 s was tight under load
    answer = await cancel(handle, "stop")
    result = await finished(handle)

    assert answer.accepted, answer.message
    assert answer.state == SagaState.CANCELED
    assert answer.not_cancelable == [0, 1]
    assert result.state == SagaState.CANCELED
    assert result.reason == "stop"
    assert result.not_cancelable == [0, 1]
    assert result.counts[ItemState.COMPLETED] == PER_DEAL
    assert result.counts[ItemState.CANCELED] == ITEMS - PER_DEAL
    assert result.counts.get(ItemState.PENDING, 0) == 0
    assert [deal.state for deal in result.deals] == [SagaState.COMPLETED] + [SagaState.CANCELED] * (
        ITEMS // PER_DEAL - 1
    )
    amounts = request.recipients.amounts
    assert result.paid == sum(amounts[:PER_DEAL], Decimal(0))
    assert result.released == sum(amounts[PER_DEAL:], Decimal(0))

    # The provider saw deal 0 only; its cancel was refused (012) and it completed.
    deals = await provider_mass_deals(dev_stack)
    assert [deal["idempotencyKey"] for deal in deals] == [
        str(mass_deal_key(request.idempotency_key, 0))
    ]
    assert deals[0]["state"] == "COMPLETED"
    assert len(await mass_creates(dev_stack)) == 1
    cancels = await dev_stack.sandbox.get(f"/sandbox/requests?path={MASS_CANCEL}")
    assert [call["errorCode"] for call in cancels] == ["012"]

    assert await ledger_states(dev_stack, request) == [EntryState.SETTLED] * PER_DEAL + [
        EntryState.RELEASED
    ] * (ITEMS - PER_DEAL)
    outcomes = await report(dev_stack, request.idempotency_key)
    assert [o.index for o in outcomes] == list(range(ITEMS))
    assert [o.state for o in outcomes] == [ItemState.COMPLETED] * PER_DEAL + [
        ItemState.CANCELED
    ] * (ITEMS - PER_DEAL)
    assert [o.amount for o in outcomes] == amounts
    assert all(o.reason for o in outcomes[PER_DEAL:])


async def cancel(handle: MassHandle, reason: str) -> MassCancelResult:
    """The cancel update; it answers once the saga has ended, so it is bounded here."""
    update = handle.execute_update(MassPayoutWorkflow.cancel, CancelInput(reason=reason))
    # As long as the saga may take to end (mass_support.finished): 30 s was tight under load.
    return await asyncio.wait_for(update, 120)


def _later(**delta: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(**delta)


async def test_cancel_before_the_execution_date_sends_nothing(dev_stack: Stack) -> None:
    request = mass_input([TRON] * 5, items_per_deal=2, execution_date=_later(days=1))
    handle = await start_mass(dev_stack, request)
    await wait_for_progress(handle, lambda p: p.state == SagaState.SCHEDULED)
    assert await ledger_states(dev_stack, request) == [EntryState.RESERVED] * 5

    answer = await cancel(handle, "no")
    result = await finished(handle)
    assert answer.accepted and answer.state == SagaState.CANCELED, answer
    assert answer.not_cancelable == []
    assert result.state == SagaState.CANCELED
    assert result.counts[ItemState.CANCELED] == 5
    assert result.released == sum(request.recipients.amounts, Decimal(0))
    assert result.paid == 0
    assert await provider_mass_deals(dev_stack) == []
    assert await mass_creates(dev_stack) == []
    assert await ledger_states(dev_stack, request) == [EntryState.RELEASED] * 5
    outcomes = await report(dev_stack, request.idempotency_key)
    assert [(o.index, o.state) for o in outcomes] == [(n, ItemState.CANCELED) for n in range(5)]


async def test_reschedule_moves_the_execution_date(dev_stack: Stack) -> None:
    request = mass_input([TRON] * 3, execution_date=_later(days=30))
    handle = await start_mass(dev_stack, request)
    await wait_for_progress(handle, lambda p: p.state == SagaState.SCHEDULED)

    later = _later(days=60)
    moved = await handle.execute_update(
        MassPayoutWorkflow.reschedule, RescheduleInput(execution_date=later)
    )
    assert moved.execution_date == later
    progress = await wait_for_progress(handle, lambda p: p.execution_date == later)
    assert progress.state == SagaState.SCHEDULED
    assert ("rescheduled", later.isoformat()) in [(e.event, e.note) for e in progress.timeline]
    assert await provider_mass_deals(dev_stack) == []

    # Brought forward to (almost) now: the timer is cut short and the list is paid.
    soon = _later(seconds=1)
    await handle.execute_update(MassPayoutWorkflow.reschedule, RescheduleInput(execution_date=soon))
    result = await finished(handle)
    assert result.state == SagaState.COMPLETED, result.reason
    assert len(await provider_mass_deals(dev_stack)) == 1
    final = await handle.query(MassPayoutWorkflow.progress)
    assert final.execution_date == soon
