"""The happy path end to end: a payout reaches COMPLETED and the ledger is settled."""

from __future__ import annotations

import uuid
from decimal import Decimal

from activities.ledger import EntryState
from workflows.keys import single_payout_workflow_id
from workflows.payout_models import PayoutInput, SagaState
from workflows.single_payout import SinglePayoutWorkflow

from .conftest import Stack

TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"


async def test_payout_completes_and_settles(stack: Stack) -> None:
    key = uuid.uuid4()
    await stack.ledger.fund("default", "USDT_TRX", Decimal(100))
    result = await stack.client.execute_workflow(
        SinglePayoutWorkflow.run,
        PayoutInput(
            idempotency_key=key, deposit_address=TRON, amount=Decimal("25.5"), currency="USDT_TRX"
        ),
        id=single_payout_workflow_id(key),
        task_queue=stack.task_queue,
    )
    assert result.state == SagaState.COMPLETED, result.reason
    assert result.tx_hash
    entry = await stack.ledger.entry(str(key))
    assert entry is not None and entry.state == EntryState.SETTLED
