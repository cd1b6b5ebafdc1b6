"""Each item's outcome in a mass deal, from what the provider reported — and nothing more.

Only a known outcome moves money. A deal the provider reports COMPLETED means every item in it
was paid. Otherwise an item is paid, failed or canceled only when its withdrawal says so in a
state this client knows; an item whose withdrawal cannot be found, or whose state is not final or
not known (the provider documents only DRAFT), is NEEDS_REVIEW: held, never released, settled or
resent, until the provider says something known or an operator decides.

Items are paired with withdrawals by (address, amount): a withdrawal does not name its item and
the provider gives no withdrawal ids when a deal is created; items with the same address and
amount are interchangeable, so pairing them in order is exact enough.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from activities.mass_items import ItemOutcome, ItemState, MassItem
from activities.payout_models import error_line
from calypso.models import PayoutState, Withdrawal, WithdrawalState


def match_withdrawals(
    items: list[MassItem],
    withdrawals: list[Withdrawal],
    *,
    provider_id: str,
    attempt: int,
    deal_state: str | None,
) -> list[ItemOutcome]:
    by_recipient: dict[tuple[str, Decimal], list[Withdrawal]] = defaultdict(list)
    for reported in withdrawals:
        key = (reported.deposit_address or "", reported.amount or Decimal(0))
        by_recipient[key].append(reported)
    outcomes = []
    for item in items:
        candidates = by_recipient.get((item.address, item.amount))
        withdrawal = candidates.pop(0) if candidates else None
        common: dict[str, Any] = {
            "index": item.index,
            "address": item.address,
            "amount": item.amount,
            "reference": item.reference,
            "attempts": attempt + 1,
            "provider_id": provider_id,
        }
        outcomes.append(_outcome(withdrawal, deal_state, common))
    return outcomes


def _outcome(
    withdrawal: Withdrawal | None, deal_state: str | None, common: dict[str, Any]
) -> ItemOutcome:
    paid = {
        "tx_hash": withdrawal.transaction_hash if withdrawal else None,
        "fee": withdrawal.calypso_fee if withdrawal else None,
    }
    if deal_state == PayoutState.COMPLETED:
        return ItemOutcome(state=ItemState.COMPLETED, **paid, **common)
    if withdrawal is None:
        reason = "no withdrawal of the provider matches this item: held for review"
        return ItemOutcome(state=ItemState.NEEDS_REVIEW, reason=reason, **common)
    if withdrawal.state == WithdrawalState.COMPLETED:
        return ItemOutcome(state=ItemState.COMPLETED, **paid, **common)
    if withdrawal.state == WithdrawalState.CANCELED:
        return ItemOutcome(state=ItemState.CANCELED, reason="canceled at the provider", **common)
    if withdrawal.state == WithdrawalState.FAILED:
        reasons = "; ".join(error_line(error) for error in withdrawal.withdrawal_errors)
        reason = f"{reasons or 'withdrawal FAILED'}; nothing was paid"
        return ItemOutcome(state=ItemState.FAILED, reason=reason, **common)
    reason = (
        f"withdrawal {withdrawal.id} is {withdrawal.state!r}, not a final state this client "
        "knows: held for review"
    )
    return ItemOutcome(state=ItemState.NEEDS_REVIEW, reason=reason, **common)
