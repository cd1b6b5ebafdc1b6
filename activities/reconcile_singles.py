"""Single payouts: each provider payout against the saga that sent it (found from its key, resends
included) and that saga's ledger entry; and each completed saga against the payout it paid.
"""

from __future__ import annotations

from typing import Any

from activities.ledger import EntryState
from activities.reconcile_findings import Comparison, beat
from activities.reconcile_provider import single_payout
from activities.reconcile_sagas import SINGLE, SagaView
from calypso.models import Payout, PayoutState
from workflows.payout_models import PayoutInput
from workflows.reconcile_models import DiscrepancyKind

Facts = dict[str, Any]


async def compare_singles(cmp: Comparison, payouts: list[Payout]) -> None:
    listed = {payout.id for payout in payouts}
    for number, payout in enumerate(payouts, 1):
        await compare_payout(cmp, payout)
        beat(f"single payouts compared: {number}")
    # A completed saga whose payout the window did not list: created before `since`, or gone.
    for saga in cmp.sagas.in_window:
        if saga.workflow_type != SINGLE or not saga.completed or saga.provider_id in listed:
            continue
        if saga.provider_id is None:
            continue
        found = await single_payout(cmp.calypso, saga.provider_id)
        if found is not None:
            await compare_payout(cmp, found)
            continue
        cmp.findings.add(
            DiscrepancyKind.COMPLETED_NOT_PAID,
            f"{saga.workflow_id} completed with provider payout {saga.provider_id}, "
            "which the provider does not have",
            workflow_id=saga.workflow_id,
            key=saga.key,
            provider_id=saga.provider_id,
            provider_kind="single",
            saga_state=saga.describe(),
        )


async def compare_payout(cmp: Comparison, payout: Payout) -> None:
    found = cmp.sagas.owner(payout.idempotency_key)
    if found is None:
        unknown_payout(cmp, payout)
        return
    saga, _ = found
    facts: Facts = {
        "workflow_id": saga.workflow_id,
        "key": saga.key,
        "provider_id": payout.id,
        "provider_kind": "single",
        "provider_state": payout.state,
        "saga_state": saga.describe(),
        "currency": payout.currency,
    }
    if saga.workflow_type == SINGLE:
        await _compare_request(cmp, saga, payout, facts)
    paid = payout.state == PayoutState.COMPLETED
    if saga.running:
        if paid and cmp.stale(payout.created_date):
            what = f"payout {payout.id} was paid at the provider"
            detail = f"{what}; {saga.workflow_id} is still {saga.describe()}"
            cmp.findings.add(
                DiscrepancyKind.PAID_NOT_COMPLETED, detail, amount=payout.amount, **facts
            )
        else:
            cmp.findings.in_flight += 1
        return
    counted = saga.completed and saga.provider_id == payout.id
    if paid and not counted:
        cmp.findings.add(
            DiscrepancyKind.PAID_NOT_COMPLETED,
            f"payout {payout.id} was paid at the provider; {_why_not_counted(saga)}",
            amount=payout.amount,
            **facts,
        )
    elif counted and not paid:
        cmp.findings.add(
            DiscrepancyKind.COMPLETED_NOT_PAID,
            f"{saga.workflow_id} completed with payout {payout.id}, which is {payout.state} "
            "at the provider",
            amount=payout.amount,
            **facts,
        )
    elif paid:
        await _compare_ledger(cmp, saga, payout, facts)


def unknown_payout(cmp: Comparison, payout: Payout) -> None:
    cmp.findings.add(
        DiscrepancyKind.UNKNOWN_PROVIDER_PAYOUT,
        f"payout {payout.id} ({payout.state}, {payout.amount} {payout.currency} to "
        f"{payout.deposit_address}) has no saga: made outside this system, e.g. in the "
        "provider's UI",
        key=payout.idempotency_key,
        provider_id=payout.id,
        provider_kind="single",
        provider_state=payout.state,
        currency=payout.currency,
        amount=payout.amount,
    )


def _why_not_counted(saga: SagaView) -> str:
    if saga.completed:
        return f"{saga.workflow_id} counts payout {saga.provider_id} as its payment instead"
    return f"{saga.workflow_id} ended {saga.describe()}"


async def _compare_request(cmp: Comparison, saga: SagaView, payout: Payout, facts: Facts) -> None:
    """What was asked (the saga's input) against what the provider holds."""
    request = await cmp.sagas.start_input(saga, PayoutInput)
    if request is None:
        return
    detail = f"payout {payout.id} of {saga.workflow_id}"
    cmp.findings.mismatch("amount", payout.amount, request.amount, detail, **facts)
    cmp.findings.mismatch("currency", payout.currency, request.currency, detail, **facts)
    address = (payout.deposit_address, request.deposit_address)
    cmp.findings.mismatch("address", *address, detail, **facts)


async def _compare_ledger(cmp: Comparison, saga: SagaView, payout: Payout, facts: Facts) -> None:
    """A paid payout's entry is settled with what the provider paid and charged."""
    if cmp.ledger is None:
        return
    entry = await cmp.ledger.entry(saga.key)
    detail = f"payout {payout.id}, ledger entry {saga.key}"
    state = entry.state.value if entry is not None else "no entry"
    if entry is None or entry.state != EntryState.SETTLED:
        cmp.findings.mismatch("ledger.state", "paid", state, detail, **facts)
        return
    cmp.findings.mismatch("ledger.amount", payout.amount, entry.paid_amount, detail, **facts)
    cmp.findings.mismatch("ledger.fee", payout.fee, entry.fee, detail, **facts)
    cmp.findings.mismatch("ledger.currency", payout.currency, entry.currency, detail, **facts)
