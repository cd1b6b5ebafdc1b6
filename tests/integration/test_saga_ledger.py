"""A paid payout stays paid even when the ledger refuses to settle it."""

from __future__ import annotations

from activities.ledger import EntryState, ReleaseRequest
from starter.api.outcomes import saga_result
from tests.integration.conftest import TRON, Stack, ledger_state, wait_for_status
from workflows.payout_models import PayoutResult, SagaState


async def test_ledger_refusing_to_settle_keeps_the_payout_completed(dev_stack: Stack) -> None:
    stack = dev_stack
    saga_input = stack.payout(deposit_address=TRON[:-4] + "sLow")  # time to step in
    handle = await stack.start(saga_input)
    await wait_for_status(handle, lambda status: status.state == SagaState.SUBMITTED)
    # An operator releases the reservation by hand while the provider is paying.
    await stack.ledger.release(ReleaseRequest(key=str(saga_input.idempotency_key), reason="hand"))

    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.COMPLETED
    assert result.reason is not None and "ledger refused to settle" in result.reason
    assert await ledger_state(stack, saga_input) == EntryState.RELEASED  # not touched again
    assert len(await stack.provider_payouts()) == 1
