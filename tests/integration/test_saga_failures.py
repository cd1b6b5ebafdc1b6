"""Provider failures compensate: the reservation is released; a resend policy sends new
payouts under derived keys before giving up."""

from __future__ import annotations

from activities.ledger import EntryState
from starter.api.outcomes import saga_result
from tests.integration.conftest import TRON, Stack, ledger_state, saga_status
from workflows.keys import attempt_key
from workflows.payout_models import PayoutResult, ResendPolicy, SagaState

NETWORK_FAILS = TRON[:-4] + "fa11"
VALIDATION_FAILS = TRON[:-4] + "bad1"


async def test_network_failure_releases_the_reservation(stack: Stack) -> None:
    saga_input = stack.payout(deposit_address=NETWORK_FAILS)
    result = await saga_result(await stack.start(saga_input), PayoutResult)

    assert result.state == SagaState.FAILED
    assert result.reason is not None
    assert result.reason.startswith("provider FAILED: network rejected the transaction")
    assert result.attempts == 1
    assert len(await stack.provider_payouts()) == 1
    assert await ledger_state(stack, saga_input) == EntryState.RELEASED


async def test_resends_under_derived_keys_then_fails(stack: Stack) -> None:
    saga_input = stack.payout(
        deposit_address=NETWORK_FAILS, resend=ResendPolicy(max_resends=2, delay_seconds=1)
    )
    handle = await stack.start(saga_input)
    result = await saga_result(handle, PayoutResult)

    assert result.state == SagaState.FAILED
    assert result.attempts == 3
    key = saga_input.idempotency_key
    expected = [str(attempt_key(key, n)) for n in range(3)]
    payouts = await stack.provider_payouts()
    assert sorted(p["idempotencyKey"] for p in payouts) == sorted(expected)
    assert len(set(expected)) == 3, "each resend needs its own provider key"
    assert all(p["state"] == "FAILED" for p in payouts)
    attempts = (await saga_status(handle)).attempts
    assert [(a.number, str(a.provider_key)) for a in attempts] == list(enumerate(expected))
    assert await ledger_state(stack, saga_input) == EntryState.RELEASED


async def test_validation_failure_releases_the_reservation(stack: Stack) -> None:
    saga_input = stack.payout(deposit_address=VALIDATION_FAILS)
    handle = await stack.start(saga_input)
    result = await saga_result(handle, PayoutResult)

    assert result.state == SagaState.FAILED
    assert result.reason is not None and "recipient address rejected by validation" in result.reason
    assert len(await stack.provider_payouts()) == 1
    assert await ledger_state(stack, saga_input) == EntryState.RELEASED
    status = await saga_status(handle)
    assert status.provider_state == "FAILED"
    assert any("rejected by validation" in error for error in status.errors)
