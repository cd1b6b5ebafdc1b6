"""Four eyes on the dev server (updates need it): every way out of WAITING_FOR_APPROVAL —
approved, denied, expired, canceled — and the rules about who may approve."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError

from activities.ledger import EntryState
from starter.api.approvals import ApprovalRefusedError
from starter.api.errors import PayoutEndedError
from tests.integration.conftest import (
    Stack,
    api_requests,
    ledger_state,
    saga_status,
    wait_for_status,
)
from tests.integration.mass_support import (
    finished,
    mass_input,
    recipients,
    start_mass,
    tron,
    wait_for_progress,
)
from tests.integration.policy_support import approve, deny, use_policy, waiting_for_approval
from workflows.payout_models import CancelInput, SagaState
from workflows.single_payout import SinglePayoutWorkflow

pytestmark = pytest.mark.asyncio

THRESHOLDS = """
    version = "approvals-1"
    [default.approval]
    above = { USDT_TRX = "100" }
    second_approver_above = { USDT_TRX = "1000" }
    expires_after_hours = 1
"""


async def test_below_the_threshold_nobody_is_asked(dev_stack: Stack, tmp_path: Path) -> None:
    use_policy(dev_stack, tmp_path, THRESHOLDS)
    saga_input = dev_stack.payout(amount=Decimal("100"))
    handle = await dev_stack.start(saga_input)
    result = await handle.result()
    assert result.state == SagaState.COMPLETED
    status = await saga_status(handle)
    assert status.policy_version == "approvals-1"
    assert status.approval is None
    assert SagaState.WAITING_FOR_APPROVAL not in {e.state for e in status.timeline}


async def test_approved_payout_is_paid_and_the_decision_is_in_the_timeline(
    dev_stack: Stack, tmp_path: Path
) -> None:
    use_policy(dev_stack, tmp_path, THRESHOLDS)
    saga_input = dev_stack.payout(amount=Decimal("150"), requested_by="alice")
    handle = await dev_stack.start(saga_input)
    waiting = await wait_for_status(handle, waiting_for_approval)
    # Reserved first, nothing at the provider yet.
    assert await ledger_state(dev_stack, saga_input) == EntryState.RESERVED
    assert not [
        r
        for r in await api_requests(dev_stack.sandbox)
        if r["body"]["payload"]["idempotencyKey"] == str(saga_input.idempotency_key)
    ]
    assert waiting.approval is not None and waiting.approval.approvers == 1
    assert "above the approval threshold 100" in waiting.approval.reasons[0]
    assert waiting.approval.requested_by == "alice"

    decided = await approve(dev_stack, handle, "bob")
    assert decided.accepted and decided.message == "approved"
    assert (await handle.result()).state == SagaState.COMPLETED
    status = await saga_status(handle)
    assert status.approval is not None
    assert [(d.decision, d.by) for d in status.approval.decisions] == [("approved", "bob")]
    assert ("approved", "bob: looks right") in [(e.event, e.note) for e in status.timeline]
    assert await ledger_state(dev_stack, saga_input) == EntryState.SETTLED


async def test_the_requester_may_not_approve_their_own_payout(
    dev_stack: Stack, tmp_path: Path
) -> None:
    use_policy(dev_stack, tmp_path, THRESHOLDS)
    handle = await dev_stack.start(dev_stack.payout(amount=Decimal("150"), requested_by="alice"))
    await wait_for_status(handle, waiting_for_approval)
    with pytest.raises(ApprovalRefusedError, match="alice requested this payout"):
        await approve(dev_stack, handle, " Alice ")
    status = await saga_status(handle)
    assert status.state == SagaState.WAITING_FOR_APPROVAL
    assert status.approval is not None and status.approval.decisions == []
    await approve(dev_stack, handle, "bob")
    assert (await handle.result()).state == SagaState.COMPLETED


async def test_above_the_second_threshold_two_different_people_approve(
    dev_stack: Stack, tmp_path: Path
) -> None:
    use_policy(dev_stack, tmp_path, THRESHOLDS)
    handle = await dev_stack.start(dev_stack.payout(amount=Decimal("1500"), requested_by="alice"))
    waiting = await wait_for_status(handle, waiting_for_approval)
    assert waiting.approval is not None and waiting.approval.approvers == 2

    first = await approve(dev_stack, handle, "bob")
    assert first.message == "approved; waiting for 1 more approver"
    with pytest.raises(ApprovalRefusedError, match=r"(?i)bob has approved already"):
        await approve(dev_stack, handle, "BOB")
    assert (await saga_status(handle)).state == SagaState.WAITING_FOR_APPROVAL
    await approve(dev_stack, handle, "carol")
    assert (await handle.result()).state == SagaState.COMPLETED
    status = await saga_status(handle)
    assert status.approval is not None
    assert [d.by for d in status.approval.decisions] == ["bob", "carol"]


async def test_denied_payout_is_rejected_and_released(dev_stack: Stack, tmp_path: Path) -> None:
    use_policy(dev_stack, tmp_path, THRESHOLDS)
    saga_input = dev_stack.payout(amount=Decimal("150"))
    handle = await dev_stack.start(saga_input)
    await wait_for_status(handle, waiting_for_approval)
    await deny(dev_stack, handle, "bob", "unknown contractor")
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    status = await saga_status(handle)
    assert status.state == SagaState.REJECTED
    assert status.reason == "denied by bob: unknown contractor"
    assert await ledger_state(dev_stack, saga_input) == EntryState.RELEASED
    assert await dev_stack.provider_payouts(idempotencyKey=str(saga_input.idempotency_key)) == []
    with pytest.raises(PayoutEndedError):
        await approve(dev_stack, handle, "carol")


async def test_approval_expires_canceled_and_released(dev_stack: Stack, tmp_path: Path) -> None:
    use_policy(
        dev_stack,
        tmp_path,
        """
        [default.approval]
        always = true
        expires_after_hours = 0.001  # 3.6 s
        """,
    )
    saga_input = dev_stack.payout()
    handle = await dev_stack.start(saga_input)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    status = await saga_status(handle)
    assert status.state == SagaState.CANCELED
    assert status.reason is not None and status.reason.startswith("approval_expired")
    assert await ledger_state(dev_stack, saga_input) == EntryState.RELEASED
    assert await dev_stack.provider_payouts(idempotencyKey=str(saga_input.idempotency_key)) == []


async def test_cancel_while_waiting_for_approval(dev_stack: Stack, tmp_path: Path) -> None:
    use_policy(dev_stack, tmp_path, THRESHOLDS)
    saga_input = dev_stack.payout(amount=Decimal("150"))
    handle = await dev_stack.start(saga_input)
    await wait_for_status(handle, waiting_for_approval)
    canceled = await handle.execute_update(
        SinglePayoutWorkflow.cancel, CancelInput(reason="not this month")
    )
    assert canceled.accepted and canceled.state == SagaState.CANCELED
    assert await ledger_state(dev_stack, saga_input) == EntryState.RELEASED


async def test_new_recipient_and_far_execution_date_ask_approval(
    dev_stack: Stack, tmp_path: Path
) -> None:
    use_policy(
        dev_stack,
        tmp_path,
        """
        [default.approval]
        new_recipient = true
        execution_date_beyond_days = 30
        """,
    )
    first = await dev_stack.start(dev_stack.payout())
    waiting = await wait_for_status(first, waiting_for_approval)
    assert waiting.approval is not None
    assert waiting.approval.reasons == ["a recipient this sub-account has never paid"]
    await approve(dev_stack, first, "bob")
    assert (await first.result()).state == SagaState.COMPLETED

    # Paid once from this sub-account: no longer new.
    again = await dev_stack.start(dev_stack.payout())
    assert (await again.result()).state == SagaState.COMPLETED
    assert (await saga_status(again)).approval is None


async def test_a_list_is_approved_on_its_total(dev_stack: Stack, tmp_path: Path) -> None:
    use_policy(dev_stack, tmp_path, THRESHOLDS)
    request = mass_input(
        [tron(n) for n in range(3)], requested_by="alice", items_per_deal=2
    )  # 1.25 + 2.25 + 3.25 = 6.75: below 100 ...
    below = await start_mass(dev_stack, request)
    assert (await finished(below)).state == SagaState.COMPLETED
    big = mass_input([tron(n) for n in range(3)], requested_by="alice")
    big = big.model_copy(
        update={"recipients": recipients([tron(n) for n in range(3)], [Decimal(400)] * 3)}
    )  # ... 1200 above the second threshold: two approvers
    handle = await start_mass(dev_stack, big)
    waiting = await wait_for_progress(handle, lambda p: p.state == SagaState.WAITING_FOR_APPROVAL)
    assert waiting.approval is not None and waiting.approval.approvers == 2
    assert waiting.approval.reasons[0].startswith("list total 1200 USDT_TRX is above")
    await approve(dev_stack, handle, "bob")
    await approve(dev_stack, handle, "carol")
    assert (await finished(handle)).state == SagaState.COMPLETED


async def test_a_new_policy_applies_to_sagas_that_have_not_passed_the_step(
    dev_stack: Stack, tmp_path: Path
) -> None:
    use_policy(dev_stack, tmp_path, THRESHOLDS)
    waiting = await dev_stack.start(dev_stack.payout(amount=Decimal("150")))
    await wait_for_status(waiting, waiting_for_approval)
    use_policy(dev_stack, tmp_path, 'version = "approvals-2"\n')  # the same file, rewritten
    after = await dev_stack.start(dev_stack.payout(amount=Decimal("150")))
    assert (await after.result()).state == SagaState.COMPLETED
    assert (await saga_status(after)).policy_version == "approvals-2"
    # The saga admitted before keeps the version (and the approval) it was admitted under.
    assert (await saga_status(waiting)).policy_version == "approvals-1"
    await approve(dev_stack, waiting, "bob")
    assert (await waiting.result()).state == SagaState.COMPLETED
