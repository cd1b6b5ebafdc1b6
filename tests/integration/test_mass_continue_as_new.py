"""A long list continues as new between deals: tallies, report and idempotency carry over."""

from __future__ import annotations

import uuid
from decimal import Decimal

from temporalio.api.enums.v1 import EventType

from starter.api.mass import MassPayoutRequest
from tests.contract.conftest import eventually
from tests.integration.conftest import TRON, Stack
from tests.integration.mass_support import payouts_api, recipients
from workflows.keys import mass_payout_workflow_id
from workflows.mass_models import ItemState
from workflows.payout_models import SagaState

ITEMS = 12


async def test_runs_continue_as_new_and_carry_the_tallies(dev_stack: Stack) -> None:
    payouts = payouts_api(dev_stack)
    request = MassPayoutRequest(
        currency="USDT_TRX",
        recipients=recipients([TRON] * ITEMS),
        idempotency_key=uuid.uuid4(),
        items_per_deal=1,
        deals_per_run=5,  # 12 deals: runs of 5, 5 and 2
        max_parallel_deals=2,
    )
    key = await payouts.mass.start(request)
    result = await payouts.mass.result(key)

    assert result.state == SagaState.COMPLETED, result.reason
    assert result.counts[ItemState.COMPLETED] == ITEMS
    assert result.paid == sum(request.recipients.amounts, Decimal(0))
    assert [deal.state for deal in result.deals] == [SagaState.COMPLETED] * ITEMS
    assert [item.index async for item in payouts.mass.report(key)] == list(range(ITEMS))

    workflow_id = mass_payout_workflow_id(key)

    async def runs() -> list[str]:
        found = [
            run.run_id
            async for run in dev_stack.client.list_workflows(f"WorkflowId = '{workflow_id}'")
        ]
        return found if len(found) == 3 else []

    run_ids = await eventually(runs)
    continued = 0
    for run_id in run_ids:
        history = await dev_stack.client.get_workflow_handle(
            workflow_id, run_id=run_id
        ).fetch_history()
        last = history.events[-1].event_type
        continued += last == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert continued == 2

    # The key still names this saga after continue-as-new: starting it again is a no-op.
    assert await payouts.mass.start(request) == key
