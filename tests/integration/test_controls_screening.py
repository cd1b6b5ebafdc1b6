"""Recipient screening against a real hook over loopback, and the policy's recipient lists:
deny → REJECTED, review → approval, a hook that does not answer → nothing is paid, ever,
until it does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError

from activities.ledger import EntryState
from tests.contract.conftest import eventually
from tests.integration.conftest import TRON, Stack, ledger_state, saga_status, wait_for_status
from tests.integration.mass_support import (
    finished,
    ledger_states,
    mass_input,
    provider_mass_deals,
    start_mass,
    tron,
    wait_for_progress,
)
from tests.integration.policy_support import approve, use_policy, waiting_for_approval
from tests.screening_hook import ScreeningHook, running_screening_hook
from workflows.mass_models import ItemState
from workflows.payout_models import SagaState

pytestmark = pytest.mark.asyncio
OTHER = tron(7)


@pytest_asyncio.fixture
async def hook(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ScreeningHook]:
    async with running_screening_hook() as running:
        monkeypatch.setenv("PAYOUTS_SCREENING_SECRET", running.secret)
        yield running


def screening_policy(hook: ScreeningHook, extra: str = "") -> str:
    return f"""
        [default.screening]
        url = "{hook.url}"
        timeout_seconds = 1
        {extra}
    """


async def test_hook_denies_rejected_released_never_sent(
    dev_stack: Stack, tmp_path: Path, hook: ScreeningHook
) -> None:
    use_policy(dev_stack, tmp_path, screening_policy(hook))
    hook.deny.add(TRON)
    saga_input = dev_stack.payout()
    handle = await dev_stack.start(saga_input)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    status = await saga_status(handle)
    assert status.state == SagaState.REJECTED
    assert status.reason == "screening denied: on the deny list"
    assert await ledger_state(dev_stack, saga_input) == EntryState.RELEASED
    assert await dev_stack.provider_payouts(idempotencyKey=str(saga_input.idempotency_key)) == []
    (seen,) = hook.verified
    assert seen.addresses == [TRON]
    assert seen.payload["currency"] == "USDT_TRX" and seen.recipients[0]["amount"] == 25.5


async def test_hook_asks_review_then_approval(
    dev_stack: Stack, tmp_path: Path, hook: ScreeningHook
) -> None:
    use_policy(dev_stack, tmp_path, screening_policy(hook))
    hook.review.add(TRON)
    handle = await dev_stack.start(dev_stack.payout(requested_by="alice"))
    waiting = await wait_for_status(handle, waiting_for_approval)
    assert waiting.approval is not None
    assert waiting.approval.reasons == ["screening asks review: held for a compliance review"]
    await approve(dev_stack, handle, "bob")
    assert (await handle.result()).state == SagaState.COMPLETED


async def test_hook_that_times_out_never_defaults_to_allow(
    dev_stack: Stack, tmp_path: Path, hook: ScreeningHook
) -> None:
    use_policy(dev_stack, tmp_path, screening_policy(hook))
    hook.hang.add(TRON)
    saga_input = dev_stack.payout()
    handle = await dev_stack.start(saga_input)

    async def retried() -> bool:
        return len(hook.requests) >= 2

    await eventually(retried, deadline=60)
    status = await saga_status(handle)
    assert status.state == SagaState.RECEIVED  # still screening: held, not sent
    assert await dev_stack.provider_payouts(idempotencyKey=str(saga_input.idempotency_key)) == []
    assert await ledger_state(dev_stack, saga_input) == EntryState.RESERVED

    hook.hang.clear()  # the hook answers again: the next attempt is allowed, and the payout paid
    assert (await handle.result()).state == SagaState.COMPLETED


async def test_policy_lists_refuse_before_anything_is_reserved(
    dev_stack: Stack, tmp_path: Path
) -> None:
    use_policy(
        dev_stack,
        tmp_path,
        f"""
        [default.recipients]
        deny = ["{TRON}"]
        [accounts.payroll.recipients]
        mode = "allow_list"
        allow = ["{OTHER}"]
        """,
    )
    denied = dev_stack.payout()
    handle = await dev_stack.start(denied)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    status = await saga_status(handle)
    assert status.state == SagaState.REJECTED
    assert status.reason is not None and status.reason.endswith("recipient is on the deny list")
    # Released as a tombstone: nothing was ever reserved.
    entry = await dev_stack.ledger.entry(str(denied.idempotency_key))
    assert entry is not None and entry.state == EntryState.RELEASED and entry.amount == 0

    await dev_stack.ledger.fund("payroll", "USDT_TRX", Decimal(1000))
    not_listed = dev_stack.payout(ledger_account="payroll", deposit_address=tron(8))
    refused = await dev_stack.start(not_listed)
    with pytest.raises(WorkflowFailureError):
        await refused.result()
    reason = (await saga_status(refused)).reason
    assert reason is not None and reason.endswith("recipient is not on the allow list")
    listed = await dev_stack.start(
        dev_stack.payout(ledger_account="payroll", deposit_address=OTHER)
    )
    assert (await listed.result()).state == SagaState.COMPLETED


async def test_mass_screening_rejects_denied_items_and_pays_the_rest(
    dev_stack: Stack, tmp_path: Path, hook: ScreeningHook
) -> None:
    use_policy(dev_stack, tmp_path, screening_policy(hook))
    addresses = [tron(n) for n in range(6)]
    hook.deny.update({addresses[1], addresses[4]})
    request = mass_input(addresses, items_per_deal=3)
    handle = await start_mass(dev_stack, request)
    result = await finished(handle)
    assert result.state == SagaState.PARTIAL
    assert result.counts[ItemState.REJECTED] == 2 and result.counts[ItemState.COMPLETED] == 4
    states = await ledger_states(dev_stack, request)
    assert states[1] == states[4] == EntryState.RELEASED
    assert [s for i, s in enumerate(states) if i not in (1, 4)] == [EntryState.SETTLED] * 4
    # Screened whole before the first deal; the denied items were never sent.
    assert len(hook.verified) == 1
    deals = await provider_mass_deals(dev_stack, withdrawals=True)
    sent = [w["depositAddress"] for deal in deals for w in deal["withdrawals"]]
    assert sorted(sent) == sorted(a for i, a in enumerate(addresses) if i not in (1, 4))


async def test_mass_with_denied_items_can_wait_for_approval_as_a_whole(
    dev_stack: Stack, tmp_path: Path, hook: ScreeningHook
) -> None:
    use_policy(dev_stack, tmp_path, screening_policy(hook, 'list_with_denied = "approval"'))
    addresses = [tron(n) for n in range(4)]
    hook.deny.add(addresses[2])
    request = mass_input(addresses, requested_by="alice")
    handle = await start_mass(dev_stack, request)
    waiting = await wait_for_progress(handle, lambda p: p.state == SagaState.WAITING_FOR_APPROVAL)
    assert waiting.counts[ItemState.REJECTED] == 1
    assert waiting.approval is not None
    assert waiting.approval.reasons == ["1 items denied by screening"]
    assert await dev_stack.provider_payouts(kind="mass") == []
    await approve(dev_stack, handle, "bob")
    result = await finished(handle)
    assert result.state == SagaState.PARTIAL and result.counts[ItemState.COMPLETED] == 3
