"""The Python API for backend services (`starter.api.payouts.Payouts`) on the local dev server.

The dev server, not the time-skipping one, because cancel and reschedule are updates. Its
visibility store is eventually consistent, so `list` is read with `eventually`.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.ledger import EntryState
from starter.api import (
    InvalidPayoutError,
    KeyReusedError,
    PayoutRequest,
    Payouts,
    PayoutSummary,
)
from starter.service.settings import Settings
from tests.contract.conftest import eventually
from tests.integration.conftest import TRON, Stack
from workflows.payout_models import PayoutResult, PayoutStatus, SagaState

EVM = "0x" + "ab" * 20


def payouts_for(stack: Stack) -> Payouts:
    return Payouts(stack.client, Settings(task_queue=stack.task_queue, poll_interval_seconds=1.0))


def request(**overrides: Any) -> PayoutRequest:
    fields: dict[str, Any] = {
        "idempotency_key": uuid.uuid4(),
        "deposit_address": TRON,
        "amount": Decimal("25.5"),
        "currency": "USDT_TRX",
    }
    fields.update(overrides)
    return PayoutRequest.model_validate(fields)


async def assert_never_started(stack: Stack, key: uuid.UUID) -> None:
    with pytest.raises(RPCError) as missing:
        await stack.client.get_workflow_handle(f"payout-{key}").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert await stack.provider_payouts() == []
    assert await stack.ledger.entry(str(key)) is None


async def state_becomes(payouts: Payouts, key: uuid.UUID, state: SagaState) -> PayoutStatus:
    async def check() -> PayoutStatus | None:
        status = await payouts.status(key)  # a payout's key: a PayoutStatus
        return status if isinstance(status, PayoutStatus) and status.state == state else None

    # A payout ends within a few seconds on an idle machine; 30 s was tight under load.
    result: PayoutStatus = await eventually(check, deadline=60)
    return result


def tomorrow() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


# --- validation before anything starts ------------------------------------------------------------


async def test_invalid_request_lists_every_problem_and_starts_nothing(dev_stack: Stack) -> None:
    payouts = payouts_for(dev_stack)
    bad = request(
        deposit_address="0xnot-a-tron-address",
        amount=Decimal("1.1234567"),  # USDT_TRX allows 6 decimals
        execution_date=datetime(2030, 1, 1, 9, 0),  # naive
        max_fee=Decimal("-1"),
        ledger_account="  ",
    )
    with pytest.raises(InvalidPayoutError) as refused:
        await payouts.start(bad)
    fields = sorted(problem.field for problem in refused.value.problems)
    assert fields == ["address", "amount", "execution_date", "ledger_account", "max_fee"]
    for field in fields:
        assert f"{field}:" in str(refused.value)
    assert "6 decimals" in str(refused.value)
    assert bad.idempotency_key is not None
    await assert_never_started(dev_stack, bad.idempotency_key)


async def test_unknown_currency_is_listed_with_the_other_problems(dev_stack: Stack) -> None:
    """An unknown currency hides the address and scale checks (they depend on the currency),
    but not the problems that do not: a non-positive amount, a naive date, a negative fee cap."""
    payouts = payouts_for(dev_stack)
    bad = request(
        currency="DOGECOIN",
        amount=Decimal("0"),
        execution_date=datetime(2030, 1, 1, 9, 0),
        max_fee=Decimal("-1"),
    )
    with pytest.raises(InvalidPayoutError) as refused:
        await payouts.start(bad)
    fields = sorted(problem.field for problem in refused.value.problems)
    assert fields == ["amount", "currency", "execution_date", "max_fee"], str(refused.value)
    assert bad.idempotency_key is not None
    await assert_never_started(dev_stack, bad.idempotency_key)


# --- idempotency by key ---------------------------------------------------------------------------


async def test_same_key_twice_is_one_saga_and_one_provider_payout(dev_stack: Stack) -> None:
    payouts = payouts_for(dev_stack)
    same = request()
    key = same.idempotency_key
    assert key is not None
    # Concurrently, then again once the saga has ended.
    assert list(await asyncio.gather(payouts.start(same), payouts.start(same))) == [key, key]
    result = await payouts.result(key)
    assert result.state == SagaState.COMPLETED, result.reason
    assert await payouts.start(same) == key

    handle = dev_stack.client.get_workflow_handle(f"payout-{key}")
    history = await handle.fetch_history()
    assert history.run_id == (await handle.describe()).run_id
    sent = [p for p in await dev_stack.provider_payouts() if p["idempotencyKey"] == str(key)]
    assert len(sent) == 1
    assert len(await dev_stack.provider_payouts()) == 1


async def test_a_different_payout_under_a_used_key_is_refused(dev_stack: Stack) -> None:
    payouts = payouts_for(dev_stack)
    first = request()
    key = first.idempotency_key
    assert key is not None
    await payouts.start(first)
    other = first.model_copy(update={"amount": Decimal("99")})
    with pytest.raises(KeyReusedError, match=str(key)):
        await payouts.start(other)  # while the first one runs
    result = await payouts.result(key)
    assert result.state == SagaState.COMPLETED, result.reason
    with pytest.raises(KeyReusedError):
        await payouts.start(other.model_copy(update={"deposit_address": EVM, "currency": "USDT"}))
    sent = await dev_stack.provider_payouts()
    assert [(p["idempotencyKey"], p["amount"]) for p in sent] == [(str(key), Decimal("25.5"))]


# --- status, cancel, reschedule, result -----------------------------------------------------------


async def test_status_cancel_and_result_of_a_scheduled_payout(dev_stack: Stack) -> None:
    payouts = payouts_for(dev_stack)
    scheduled = request(execution_date=tomorrow(), external_id="invoice-7")
    key = await payouts.start(scheduled)
    status = await state_becomes(payouts, key, SagaState.SCHEDULED)
    assert status.key == key and status.amount == Decimal("25.5") and status.currency == "USDT_TRX"
    assert status.execution_date == scheduled.execution_date
    assert status.provider_id is None and status.attempts == []

    canceled = await payouts.cancel(key, "customer changed their mind")
    assert canceled.accepted and canceled.state == SagaState.CANCELED, canceled
    result = await payouts.result(key)
    assert result.state == SagaState.CANCELED
    assert result.reason == "customer changed their mind"
    assert await dev_stack.provider_payouts() == []
    entry = await dev_stack.ledger.entry(str(key))
    assert entry is not None and entry.state == EntryState.RELEASED

    # Once final, a second cancel is refused, not an error.
    again = await payouts.cancel(key)
    assert not again.accepted and again.state == SagaState.CANCELED


async def test_reschedule_brings_a_scheduled_payout_forward(dev_stack: Stack) -> None:
    payouts = payouts_for(dev_stack)
    key = await payouts.start(request(execution_date=tomorrow()))
    await state_becomes(payouts, key, SagaState.SCHEDULED)
    with pytest.raises(WorkflowUpdateFailedError):
        await payouts.reschedule(key, datetime(2030, 1, 1, 9, 0))  # naive: refused by validator
    now = datetime.now(UTC).replace(microsecond=0)
    moved = await payouts.reschedule(key, now)
    assert moved.execution_date == now
    result = await payouts.result(key)
    assert result.state == SagaState.COMPLETED, result.reason
    status = await payouts.status(key)
    assert status.execution_date == now
    assert any(e.source == "operator" and e.event == "rescheduled" for e in status.timeline)


async def test_a_sent_payout_cannot_be_rescheduled_but_can_be_canceled(dev_stack: Stack) -> None:
    await dev_stack.sandbox.post("/sandbox/config", {"verification": True})  # held at provider
    payouts = payouts_for(dev_stack)
    key = await payouts.start(request())
    status = await state_becomes(payouts, key, SagaState.SUBMITTED)
    assert status.provider_id is not None
    with pytest.raises(WorkflowUpdateFailedError) as late:
        await payouts.reschedule(key, tomorrow())
    assert "too late" in str(late.value.cause)

    canceled = await payouts.cancel(key, "wrong recipient")
    assert canceled.accepted and canceled.state == SagaState.CANCELED, canceled
    result = await payouts.result(key)
    assert isinstance(result, PayoutResult)  # a payout's key: a PayoutResult
    assert result.state == SagaState.CANCELED and result.provider_id == status.provider_id
    (sent,) = await dev_stack.provider_payouts()
    assert sent["state"] == "CANCELED"


async def test_cancel_after_completion_is_refused(dev_stack: Stack) -> None:
    payouts = payouts_for(dev_stack)
    key = await payouts.start(request())
    assert (await payouts.result(key)).state == SagaState.COMPLETED
    refused = await payouts.cancel(key)
    assert not refused.accepted and refused.state == SagaState.COMPLETED


# --- list -----------------------------------------------------------------------------------------


async def test_list_finds_payouts_by_state(dev_stack: Stack) -> None:
    payouts = payouts_for(dev_stack)
    done = await payouts.start(request(external_id="run-list-done"))
    parked = await payouts.start(request(execution_date=tomorrow()))
    assert (await payouts.result(done)).state == SagaState.COMPLETED
    await state_becomes(payouts, parked, SagaState.SCHEDULED)

    def by_key(found: list[PayoutSummary]) -> dict[str, PayoutSummary]:
        return {item.key: item for item in found}

    async def listed(state: str | None, key: uuid.UUID) -> PayoutSummary | None:
        return by_key(await payouts.list(state=state, limit=1000)).get(str(key))

    # Visibility lags a little behind the saga, more so on a loaded machine: 30 s was tight.
    completed = await eventually(lambda: listed("COMPLETED", done), deadline=60)
    assert completed.state == "COMPLETED" and completed.currency == "USDT_TRX"
    assert completed.external_id == "run-list-done" and completed.provider_id
    assert completed.started_at is not None
    scheduled = await eventually(lambda: listed("scheduled", parked), deadline=60)
    assert scheduled.state == "SCHEDULED" and scheduled.provider_id is None

    assert str(parked) not in by_key(await payouts.list(state="COMPLETED", limit=1000))
    assert str(done) not in by_key(await payouts.list(state="SCHEDULED", limit=1000))
    everything = by_key(await payouts.list(limit=1000))
    assert {str(done), str(parked)} <= everything.keys()
    assert len(await payouts.list(limit=1)) == 1
    await payouts.cancel(parked)
