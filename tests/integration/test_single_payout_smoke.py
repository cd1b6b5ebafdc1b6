"""The happy path end to end: a payout reaches COMPLETED and the ledger is settled."""

from __future__ import annotations

from activities.ledger import EntryState
from starter.api.outcomes import saga_result
from tests.integration.conftest import Stack
from workflows.payout_models import PayoutResult, SagaState


async def test_payout_completes_and_settles(stack: Stack) -> None:
    saga_input = stack.payout()
    result = await saga_result(await stack.start(saga_input), PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason
    assert result.tx_hash and result.fee
    entry = await stack.ledger.entry(str(saga_input.idempotency_key))
    assert entry is not None and entry.state == EntryState.SETTLED
    assert entry.fee == result.fee
    assert len(await stack.provider_payouts()) == 1
