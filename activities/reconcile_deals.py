"""Mass payouts: each provider mass payout against the deal that sent it (`mass-deal-<deal key>`,
found from its key, resends included), item by item, and the items' ledger entries.

A withdrawal does not name its item, so items pair with withdrawals by (address, amount), as the
deal itself pairs them (`activities/deal_outcomes.py`). A deal that did not complete (terminated,
timed out) counts no item paid. Findings are one per mass payout and kind, listing the items.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from activities.ledger import EntryState
from activities.mass_items import ItemOutcome, ItemState, MassItem
from activities.reconcile_findings import Comparison, beat
from activities.reconcile_ledger import item_key
from activities.reconcile_provider import MassAtProvider
from activities.reconcile_sagas import DEAL, SagaView
from calypso.models import FINAL_PAYOUT_STATES, Withdrawal, WithdrawalState
from workflows.mass_models import DealInput
from workflows.reconcile_models import DiscrepancyKind

Recipient = tuple[str, Decimal]
Pair = tuple[ItemOutcome, Withdrawal]


async def compare_masses(cmp: Comparison, masses: list[MassAtProvider]) -> None:
    for number, mass in enumerate(masses, 1):
        await compare_mass(cmp, mass)
        beat(f"mass payouts compared: {number}")


async def compare_mass(cmp: Comparison, mass: MassAtProvider) -> None:
    payout = mass.payout
    found = cmp.sagas.owner(payout.idempotency_key)
    if found is None:
        _unknown(cmp, mass)
        return
    deal, _ = found
    facts: dict[str, Any] = {
        "workflow_id": deal.workflow_id,
        "key": deal.key,
        "provider_id": payout.id,
        "provider_kind": "mass",
        "provider_state": payout.state,
        "saga_state": deal.describe(),
        "currency": payout.currency,
    }
    request = await cmp.sagas.start_input(deal, DealInput) if deal.workflow_type == DEAL else None
    if request is not None:
        detail = f"mass payout {payout.id} of {deal.workflow_id}"
        cmp.findings.mismatch("currency", payout.currency, request.currency, detail, **facts)
    paid = [item for item in mass.withdrawals if item.state == WithdrawalState.COMPLETED]
    if payout.state in FINAL_PAYOUT_STATES and not deal.running:
        await _compare_items(cmp, Deal(mass, deal, request, facts), paid)
    elif deal.running and paid and cmp.stale(mass.created):
        cmp.findings.add(
            DiscrepancyKind.PAID_NOT_COMPLETED,
            f"{len(paid)} items of mass payout {payout.id} were paid at the provider; "
            f"{deal.workflow_id} is still running",
            amount=_total(paid),
            items=_indexes(request, paid),
            **facts,
        )
    else:
        cmp.findings.in_flight += 1


@dataclass
class Deal:
    """A finished provider mass payout and the deal saga that sent it."""

    mass: MassAtProvider
    saga: SagaView
    request: DealInput | None
    facts: dict[str, Any]


async def _compare_items(cmp: Comparison, deal: Deal, paid: list[Withdrawal]) -> None:
    """Paid withdrawals against the items the deal counts paid in this mass payout."""
    payout_id, workflow_id = deal.mass.payout.id, deal.saga.workflow_id
    result = await cmp.sagas.deal_result(deal.saga)
    counted = [
        outcome
        for outcome in (result.outcomes if result is not None else [])
        if outcome.state == ItemState.COMPLETED and outcome.provider_id == payout_id
    ]
    pairs, paid_only, counted_only = _pair(paid, counted)
    if paid_only:
        cmp.findings.add(
            DiscrepancyKind.PAID_NOT_COMPLETED,
            f"{len(paid_only)} items of mass payout {payout_id} were paid at the provider; "
            f"{workflow_id} (ended {deal.saga.describe()}) does not count them paid",
            amount=_total(paid_only),
            items=_indexes(deal.request, paid_only),
            **deal.facts,
        )
    if counted_only:
        cmp.findings.add(
            DiscrepancyKind.COMPLETED_NOT_PAID,
            f"{workflow_id} counts {len(counted_only)} items of mass payout {payout_id} "
            "paid that the provider did not pay",
            amount=sum((outcome.amount for outcome in counted_only), Decimal(0)),
            items=sorted(outcome.index for outcome in counted_only),
            **deal.facts,
        )
    _compare_fees(cmp, pairs, f"mass payout {payout_id} of {workflow_id}", deal.facts)
    if deal.request is not None:
        await _compare_ledger(cmp, str(deal.request.mass_key), pairs, payout_id, deal.facts)


def _unknown(cmp: Comparison, mass: MassAtProvider) -> None:
    payout = mass.payout
    cmp.findings.add(
        DiscrepancyKind.UNKNOWN_PROVIDER_PAYOUT,
        f"mass payout {payout.id} ({payout.state}, {payout.total_withdrawal_amount} "
        f"{payout.currency}) has no saga: made outside this system, e.g. in the provider's UI",
        key=payout.idempotency_key,
        provider_id=payout.id,
        provider_kind="mass",
        provider_state=payout.state,
        currency=payout.currency,
        amount=payout.total_withdrawal_amount,
    )


def _pair(
    paid: list[Withdrawal], counted: list[ItemOutcome]
) -> tuple[list[Pair], list[Withdrawal], list[ItemOutcome]]:
    """Items counted paid with the paid withdrawals, by (address, amount); and what is left on
    either side."""
    pool: defaultdict[Recipient, list[Withdrawal]] = defaultdict(list)
    for withdrawal in paid:
        pool[_recipient_of(withdrawal)].append(withdrawal)
    pairs: list[Pair] = []
    counted_only: list[ItemOutcome] = []
    for outcome in counted:
        bucket = pool.get((outcome.address, outcome.amount))
        if bucket:
            pairs.append((outcome, bucket.pop(0)))
        else:
            counted_only.append(outcome)
    return pairs, [withdrawal for bucket in pool.values() for withdrawal in bucket], counted_only


def _compare_fees(cmp: Comparison, pairs: list[Pair], detail: str, facts: dict[str, Any]) -> None:
    differ = [
        (outcome, withdrawal)
        for outcome, withdrawal in pairs
        if None not in (outcome.fee, withdrawal.calypso_fee)
        and outcome.fee != withdrawal.calypso_fee
    ]
    if differ:
        provider = sum((w.calypso_fee or Decimal(0) for _, w in differ), Decimal(0))
        ours = sum((o.fee or Decimal(0) for o, _ in differ), Decimal(0))
        items = sorted(o.index for o, _ in differ)
        cmp.findings.mismatch(
            "fee", provider, ours, f"{detail}, items {items}", items=items, **facts
        )


async def _compare_ledger(
    cmp: Comparison, mass_key: str, pairs: list[Pair], provider_id: str, facts: dict[str, Any]
) -> None:
    """Every paid item's entry is settled with what the provider paid and charged."""
    if cmp.ledger is None:
        return
    wrong: dict[int, str] = {}
    for outcome, withdrawal in pairs:
        entry = await cmp.ledger.entry(item_key(mass_key, outcome.index))
        if entry is None or entry.state != EntryState.SETTLED:
            wrong[outcome.index] = entry.state.value if entry is not None else "no entry"
        elif entry.paid_amount != withdrawal.amount:
            wrong[outcome.index] = f"settled {entry.paid_amount}"
        elif (
            None not in (entry.fee, withdrawal.calypso_fee) and entry.fee != withdrawal.calypso_fee
        ):
            wrong[outcome.index] = f"fee {entry.fee}"
    if wrong:
        items = sorted(wrong)
        cmp.findings.mismatch(
            "ledger.items",
            "paid",
            ", ".join(sorted(set(wrong.values()))),
            f"mass payout {provider_id}, ledger entries of items {items}",
            items=items,
            **facts,
        )


def _indexes(request: DealInput | None, withdrawals: list[Withdrawal]) -> list[int]:
    """The deal's items these withdrawals pay, by (address, amount), where the input is known."""
    if request is None:
        return []
    pool: defaultdict[Recipient, list[MassItem]] = defaultdict(list)
    for item in request.items:
        pool[(item.address, item.amount)].append(item)
    found = [pool[_recipient_of(w)].pop(0) for w in withdrawals if pool.get(_recipient_of(w))]
    return sorted(item.index for item in found)


def _recipient_of(withdrawal: Withdrawal) -> Recipient:
    return withdrawal.deposit_address or "", withdrawal.amount or Decimal(0)


def _total(withdrawals: list[Withdrawal]) -> Decimal:
    return sum((w.amount or Decimal(0) for w in withdrawals), Decimal(0))
