"""Only known outcomes move money: what the provider says in words we do not know, or does not
say in time, holds the money for review; an operator decides with `resolve`; a deal the provider
reports COMPLETED pays every item; a validation error is confirmed at once; a resend never goes
to a recipient the provider is already paying (e.g. resent in its UI).

On the dev server: these tests wait for real provider steps and send updates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from temporalio.service import RPCError

from activities.ledger import EntryState
from starter.api import PayoutEndedError, Payouts
from starter.api.outcomes import saga_result
from starter.service.settings import Settings
from tests.contract.conftest import eventually
from tests.integration.conftest import TRON, Stack, ledger_state, saga_status, wait_for_status
from tests.integration.mass_support import (
    ledger_states,
    mass_input,
    provider_mass_deals,
    start_mass,
)
from workflows.keys import attempt_key, mass_deal_key, mass_deal_workflow_id
from workflows.mass_deal import MassDealWorkflow
from workflows.mass_models import ItemState, MassPayoutResult
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import PayoutResult, ResendPolicy, ResolveInput, SagaState

NETWORK_FAILS = TRON[:-4] + "fa11"
VALIDATION_FAILS = TRON[:-4] + "bad1"
FAILS_ONCE = TRON[:-4] + "f1a1"
OTHER = "TXLAQ63Xg1NAzckPwKHvzw7CSEmLMEqcdj"


def api(stack: Stack) -> Payouts:
    return Payouts(stack.client, Settings(task_queue=stack.task_queue, poll_interval_seconds=1))


async def sandbox_payout(stack: Stack, key: str) -> dict[str, Any]:
    (payout,) = await stack.provider_payouts(idempotencyKey=key)
    return payout


async def test_an_unknown_provider_state_holds_the_payout_until_an_operator_decides(
    dev_stack: Stack,
) -> None:
    stack = dev_stack
    await stack.sandbox.post("/sandbox/config", {"verification": True})
    saga_input = stack.payout(poll_interval_seconds=1)
    handle = await stack.start(saga_input)
    key = str(saga_input.idempotency_key)
    await wait_for_status(handle, lambda s: s.provider_state == "PENDING_CONFIRMATION")
    payout = await sandbox_payout(stack, key)
    await stack.sandbox.post(f"/sandbox/payouts/{payout['id']}/report", {"state": "ON_HOLD"})

    held = await wait_for_status(handle, lambda s: s.state == SagaState.NEEDS_REVIEW, deadline=60)
    assert held.detail and "'ON_HOLD'" in held.detail
    assert await ledger_state(stack, saga_input) == EntryState.RESERVED  # held, not released

    decision = ResolveInput(outcome="paid", by="alice", reason="provider support confirmed it")
    resolved = await api(stack).resolve(saga_input.idempotency_key, decision)
    assert resolved.accepted and resolved.state == SagaState.COMPLETED
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.COMPLETED
    assert result.reason and "marked paid by alice" in result.reason
    assert await ledger_state(stack, saga_input) == EntryState.SETTLED


async def test_resolve_is_refused_unless_the_payout_is_held(dev_stack: Stack) -> None:
    stack = dev_stack
    saga_input = stack.payout()
    handle = await stack.start(saga_input)
    await saga_result(handle, PayoutResult)
    decision = ResolveInput(outcome="failed", by="bob", reason="mistake")
    with pytest.raises(PayoutEndedError, match="already ended COMPLETED"):
        await api(stack).resolve(saga_input.idempotency_key, decision)
    assert await ledger_state(stack, saga_input) == EntryState.SETTLED


async def test_a_payout_never_confirmed_asks_for_review_and_never_releases(
    dev_stack: Stack,
) -> None:
    stack = dev_stack
    await stack.sandbox.post("/sandbox/config", {"verification": True})
    saga_input = stack.payout(poll_interval_seconds=1, confirmation_wait_seconds=2)
    handle = await stack.start(saga_input)
    held = await wait_for_status(handle, lambda s: s.state == SagaState.NEEDS_REVIEW, deadline=60)
    assert held.detail and "not confirmed at the provider" in held.detail
    assert await ledger_state(stack, saga_input) == EntryState.RESERVED

    payout = await sandbox_payout(stack, str(saga_input.idempotency_key))
    await stack.sandbox.post(f"/sandbox/payouts/{payout['id']}/confirm")
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.COMPLETED
    assert await ledger_state(stack, saga_input) == EntryState.SETTLED
    states = [
        entry.state for entry in (await saga_status(handle)).timeline if entry.event == "state"
    ]
    assert SagaState.NEEDS_REVIEW in states and states[-1] == SagaState.COMPLETED


async def test_a_validation_error_is_confirmed_at_once_with_the_providers_words(
    dev_stack: Stack,
) -> None:
    stack = dev_stack
    # Polls every 10 minutes: only the webhook's confirmation read can end the saga quickly.
    saga_input = stack.payout(deposit_address=VALIDATION_FAILS, poll_interval_seconds=600)
    handle = await stack.start(saga_input)
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.FAILED
    status = await saga_status(handle)
    notes = [e.note for e in status.timeline if e.event == "PAYOUT_VALIDATION_ERROR"]
    assert "confirming through the API" in notes
    assert result.reason and status.errors and status.errors[0] in result.reason
    assert await ledger_state(stack, saga_input) == EntryState.RELEASED


async def test_no_resend_to_a_recipient_the_provider_already_pays(dev_stack: Stack) -> None:
    stack = dev_stack
    # A sandbox test card: the first payment to it fails, the next one goes through.
    saga_input = stack.payout(
        deposit_address=FAILS_ONCE, resend=ResendPolicy(max_resends=1, delay_seconds=3)
    )
    handle = await stack.start(saga_input)
    await wait_for_status(handle, lambda s: s.state == SagaState.WAITING_TO_RESEND, deadline=60)
    # Meanwhile an operator resends it in the provider's UI.
    await stack.sandbox.post(
        "/sandbox/ui/payouts",
        {"depositAddress": FAILS_ONCE, "amount": 25.5, "currency": "USDT_TRX"},
    )
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.FAILED and result.attempts == 1
    assert result.reason and "not resent" in result.reason and "provider's UI" in result.reason
    resend_key = str(attempt_key(saga_input.idempotency_key, 1))
    assert await stack.provider_payouts(idempotencyKey=resend_key) == [], "no resend was sent"
    assert len(await stack.provider_payouts()) == 2  # ours, and the operator's in the UI
    assert await ledger_state(stack, saga_input) == EntryState.RELEASED


async def test_mass_items_in_unknown_states_are_held_and_resolved_one_by_one(
    dev_stack: Stack,
) -> None:
    stack = dev_stack
    await stack.sandbox.post("/sandbox/config", {"verification": True})
    request = mass_input([TRON, NETWORK_FAILS, OTHER], poll_interval_seconds=1)
    handle = await start_mass(stack, request)
    (deal,) = await eventually(lambda: _deals_pending(stack), deadline=60)
    await stack.sandbox.post(
        f"/sandbox/payouts/{deal['id']}/report", {"withdrawals": {"2": "DRAFT"}}
    )
    await stack.sandbox.post(f"/sandbox/payouts/{deal['id']}/confirm")

    async def held() -> bool | None:
        progress = await handle.query(MassPayoutWorkflow.progress)
        return True if progress.state == SagaState.NEEDS_REVIEW else None

    await eventually(held, deadline=60)
    # The paid item is settled, the failed one released; the held one stays reserved.
    assert await ledger_states(stack, request) == [
        EntryState.SETTLED,
        EntryState.RELEASED,
        EntryState.RESERVED,
    ]
    decision = ResolveInput(outcome="paid", by="carol", reason="tx seen on chain", item=2)
    await api(stack).resolve(request.idempotency_key, decision)
    result = await saga_result(handle, MassPayoutResult)
    assert result.state == SagaState.PARTIAL
    assert result.counts[ItemState.COMPLETED] == 2 and result.counts[ItemState.FAILED] == 1
    assert (await ledger_states(stack, request))[2] == EntryState.SETTLED


async def test_a_completed_deal_pays_every_item_whatever_the_items_say(dev_stack: Stack) -> None:
    stack = dev_stack
    await stack.sandbox.post("/sandbox/config", {"verification": True})
    request = mass_input([TRON, OTHER], poll_interval_seconds=1)
    handle = await start_mass(stack, request)
    (deal,) = await eventually(lambda: _deals_pending(stack), deadline=60)
    await stack.sandbox.post(
        f"/sandbox/payouts/{deal['id']}/report", {"withdrawals": {"0": "SETTLED_SOMEHOW"}}
    )
    await stack.sandbox.post(f"/sandbox/payouts/{deal['id']}/confirm")
    result = await saga_result(handle, MassPayoutResult)
    assert result.state == SagaState.COMPLETED
    assert result.paid == sum(request.recipients.amounts, Decimal(0))
    assert await ledger_states(stack, request) == [EntryState.SETTLED, EntryState.SETTLED]


async def _deals_pending(stack: Stack) -> list[dict[str, Any]] | None:
    deals = await provider_mass_deals(stack)
    ready = [d for d in deals if d["state"] == "PENDING_CONFIRMATION"]
    return ready or None


async def test_a_mass_item_resent_in_the_providers_ui_is_not_resent_again(
    dev_stack: Stack,
) -> None:
    stack = dev_stack
    request = mass_input(
        [TRON, FAILS_ONCE],
        poll_interval_seconds=1,
        resend=ResendPolicy(max_resends=1, delay_seconds=3),
    )
    handle = await start_mass(stack, request)
    deal = stack.client.get_workflow_handle(
        mass_deal_workflow_id(mass_deal_key(request.idempotency_key, 0))
    )

    async def waiting_to_resend() -> bool | None:
        try:
            status = await deal.query(MassDealWorkflow.status)
        except RPCError:  # the deal has not started yet
            return None
        return True if status.state == SagaState.WAITING_TO_RESEND else None

    await eventually(waiting_to_resend, deadline=60)
    # Meanwhile an operator resends the failed item in the provider's UI (and it is paid).
    ui_payout = {"depositAddress": FAILS_ONCE, "amount": 1, "currency": "USDT_TRX"}
    await stack.sandbox.post("/sandbox/ui/payouts", ui_payout)
    result = await saga_result(handle, MassPayoutResult)
    assert result.state == SagaState.PARTIAL
    assert result.counts[ItemState.FAILED] == 1
    assert len(await provider_mass_deals(stack)) == 1, "no resend deal was created"
    outcomes = (await deal.query(MassDealWorkflow.status)).outcomes
    assert outcomes[1].reason and "not resent" in outcomes[1].reason
    assert await ledger_states(stack, request) == [EntryState.SETTLED, EntryState.RELEASED]
