"""A small mass payout end to end: deals, a failing item, ledger per item."""

from __future__ import annotations

import uuid
from decimal import Decimal

from temporalio.client import WorkflowExecutionStatus

from activities.ledger import EntryState
from starter.api.outcomes import saga_result
from tests.integration.conftest import TRON, Stack
from workflows.keys import mass_payout_workflow_id
from workflows.ledger_steps import item_ledger_key
from workflows.mass_models import ItemState, MassPayoutInput, MassPayoutResult, Recipients
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import SagaState

FAILS = TRON[:-4] + "fa11"

# Several deals poll at once here. On the time-skipping test server a deal that cancels its poll
# timer can race the server firing it ("invalid history builder state for action"), and the saga
# stalls; the real server (the dev server) drops a fired timer that is canceled. So: dev server.


async def test_partial_mass_payout(dev_stack: Stack) -> None:
    stack = dev_stack
    addresses = [TRON] * 7
    addresses[4] = FAILS
    key = uuid.uuid4()
    request = MassPayoutInput(
        idempotency_key=key,
        currency="USDT_TRX",
        recipients=Recipients(
            addresses=addresses,
            amounts=[Decimal(n + 1) for n in range(7)],
            comments=[None] * 7,
            references=[f"player-{n}" for n in range(7)],
        ),
        items_per_deal=3,
        poll_interval_seconds=5,
    )
    handle = await stack.client.start_workflow(
        MassPayoutWorkflow.run,
        request,
        id=mass_payout_workflow_id(key),
        task_queue=stack.task_queue,
    )
    result = await saga_result(handle, MassPayoutResult)
    assert result.state == SagaState.PARTIAL, result.reason
    # Not every recipient was paid: the workflow itself ends failed, so the UI's list says so.
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
    assert result.counts[ItemState.COMPLETED] == 6
    assert result.counts[ItemState.FAILED] == 1
    assert result.paid == Decimal(28) - Decimal(5)
    assert [deal.items for deal in result.deals] == [3, 3, 1]
    failed = await stack.ledger.entry(item_ledger_key(key, 4))
    paid = await stack.ledger.entry(item_ledger_key(key, 0))
    assert failed is not None and failed.state == EntryState.RELEASED
    assert paid is not None and paid.state == EntryState.SETTLED
