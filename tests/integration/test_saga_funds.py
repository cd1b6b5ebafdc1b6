"""Balance and fee checks before anything is sent: wait for funds, give up at the deadline,
refuse a fee above the maximum. Each failure releases the reservation and sends nothing."""

from __future__ import annotations

from decimal import Decimal

from activities.ledger import EntryState
from starter.api.outcomes import saga_result
from tests.integration.conftest import (
    Stack,
    api_requests,
    ledger_state,
    saga_status,
    timeline_notes,
    wait_for_status,
)
from workflows.payout_models import PayoutResult, SagaState

LOW = {"currency": "USDT_TRX", "amount": Decimal("10")}  # below 25.5 + fee


async def test_waits_for_funds_then_completes_once_funded(stack: Stack) -> None:
    await stack.sandbox.post("/sandbox/balances", LOW)
    saga_input = stack.payout()
    handle = await stack.start(saga_input)

    waiting = await wait_for_status(handle, lambda s: s.state == SagaState.WAITING_FOR_FUNDS)
    shortfall = "balance 10 < amount + fee 25.6275 USDT_TRX"  # 0.5 % default fee
    assert timeline_notes(waiting, "saga")[-1] == (SagaState.WAITING_FOR_FUNDS, shortfall)
    assert waiting.detail == shortfall  # the status says why it waits, not only the timeline
    assert await api_requests(stack.sandbox) == []

    await stack.sandbox.post("/sandbox/balances", {"currency": "USDT_TRX", "amount": 1000})
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason
    assert len(await stack.provider_payouts()) == 1
    assert await ledger_state(stack, saga_input) == EntryState.SETTLED
    states = [e.state for e in (await saga_status(handle)).timeline if e.source == "saga"]
    assert states.index(SagaState.WAITING_FOR_FUNDS) < states.index(SagaState.CREATING)


async def test_insufficient_funds_until_the_deadline_fails(stack: Stack) -> None:
    await stack.sandbox.post("/sandbox/balances", LOW)
    saga_input = stack.payout(funds_wait_seconds=120)
    handle = await stack.start(saga_input)

    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.FAILED
    assert result.reason is not None and result.reason.startswith("insufficient_funds"), result
    assert await ledger_state(stack, saga_input) == EntryState.RELEASED
    assert await api_requests(stack.sandbox) == []
    assert await stack.provider_payouts() == []
    states = [e.state for e in (await saga_status(handle)).timeline if e.source == "saga"]
    assert SagaState.WAITING_FOR_FUNDS in states, "it should have waited before giving up"


async def test_fee_above_max_fee_is_rejected(stack: Stack) -> None:
    await stack.sandbox.post("/sandbox/fees", {"currency": "USDT_TRX", "percent": 10, "fixed": 0})
    saga_input = stack.payout(max_fee=Decimal("1"))
    result = await saga_result(await stack.start(saga_input), PayoutResult)

    assert result.state == SagaState.REJECTED
    assert result.reason == "fee 2.55 USDT_TRX is above the maximum 1"
    assert result.fee == Decimal("2.55")
    assert await ledger_state(stack, saga_input) == EntryState.RELEASED
    assert await api_requests(stack.sandbox) == []
    assert await stack.provider_payouts() == []
