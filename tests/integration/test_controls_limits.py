"""Spending limits in a running saga: the per-payout maximum, a 24 h window that two
concurrent sagas cannot pass together (the ledger decides inside the reservation's
transaction), and a policy that asks approval instead of refusing."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError

from activities.ledger import EntryState
from starter.api.outcomes import saga_result
from tests.integration.conftest import Stack, ledger_state, saga_status, wait_for_status
from tests.integration.mass_support import finished, ledger_states, mass_input, start_mass, tron
from tests.integration.policy_support import approve, use_policy, waiting_for_approval
from workflows.payout_models import PayoutResult, SagaState

pytestmark = pytest.mark.asyncio

LIMITS = """
    [default.limits]
    per_payout = { USDT_TRX = "500" }
    over_limit = "{over}"
    [[default.limits.window]]
    currency = "USDT_TRX"
    hours = 24
    max = "100"
"""


async def test_per_payout_maximum_rejects_with_the_limit(dev_stack: Stack, tmp_path: Path) -> None:
    use_policy(dev_stack, tmp_path, LIMITS.replace("{over}", "reject"))
    saga_input = dev_stack.payout(amount=Decimal("600"))
    handle = await dev_stack.start(saga_input)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    status = await saga_status(handle)
    assert status.state == SagaState.REJECTED
    assert status.reason is not None
    assert "amount 600 USDT_TRX is above the per-payout limit 500" in status.reason
    assert await dev_stack.provider_payouts(idempotencyKey=str(saga_input.idempotency_key)) == []


async def test_two_concurrent_sagas_cannot_pass_a_window_limit_together(
    dev_stack: Stack, tmp_path: Path
) -> None:
    use_policy(dev_stack, tmp_path, LIMITS.replace("{over}", "reject"))
    inputs = [dev_stack.payout(amount=Decimal("60")) for _ in range(2)]
    handles = await asyncio.gather(*(dev_stack.start(saga_input) for saga_input in inputs))
    outcomes = await asyncio.gather(
        *(saga_result(handle, PayoutResult) for handle in handles), return_exceptions=False
    )
    states = sorted(outcome.state for outcome in outcomes)
    assert states == [SagaState.COMPLETED, SagaState.REJECTED]
    refused = next(outcome for outcome in outcomes if outcome.state == SagaState.REJECTED)
    assert refused.reason is not None
    assert "spending limit" in refused.reason and "60" in refused.reason
    ledger = [await ledger_state(dev_stack, saga_input) for saga_input in inputs]
    assert sorted(map(str, ledger)) == sorted([str(EntryState.SETTLED), str(EntryState.RELEASED)])
    # The window holds the paid one only, at what left the sub-account (amount plus fee).
    paid = inputs[ledger.index(EntryState.SETTLED)]
    entry = await dev_stack.ledger.entry(str(paid.idempotency_key))
    assert entry is not None and entry.paid_amount is not None and entry.fee is not None
    usage = await dev_stack.ledger.usage("default", "USDT_TRX", 86400)
    assert usage == entry.paid_amount + entry.fee


async def test_over_the_limit_asks_approval_when_the_policy_says_so(
    dev_stack: Stack, tmp_path: Path
) -> None:
    use_policy(dev_stack, tmp_path, LIMITS.replace("{over}", "approval"))
    saga_input = dev_stack.payout(amount=Decimal("150"))
    handle = await dev_stack.start(saga_input)
    waiting = await wait_for_status(handle, waiting_for_approval)
    assert waiting.approval is not None
    assert "spending limit" in waiting.approval.reasons[0]
    assert await ledger_state(dev_stack, saga_input) == EntryState.RESERVED
    await approve(dev_stack, handle, "bob")
    assert (await handle.result()).state == SagaState.COMPLETED


async def test_a_list_over_the_window_limit_is_rejected_whole(
    dev_stack: Stack, tmp_path: Path
) -> None:
    use_policy(dev_stack, tmp_path, LIMITS.replace("{over}", "reject"))
    request = mass_input([tron(n) for n in range(5)], item_amounts=None)  # 1.25 + … + 5.25
    request = request.model_copy(
        update={"recipients": request.recipients.model_copy(update={"amounts": [Decimal(30)] * 5})}
    )
    handle = await start_mass(dev_stack, request)
    result = await finished(handle)
    assert result.state == SagaState.REJECTED
    assert result.reason is not None and "spending limit" in result.reason
    assert set(await ledger_states(dev_stack, request)) == {EntryState.RELEASED}
    assert await dev_stack.provider_payouts(kind="mass") == []
