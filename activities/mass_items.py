"""One recipient of a mass payout, and how it ended (shared by activities and workflows)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel


class MassItem(BaseModel):
    index: int  # 0-based position in the list: the item's identity everywhere
    address: str
    amount: Decimal
    comment: str | None = None
    reference: str | None = None


class ItemState(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"  # refused by the policy or its screening before anything was sent
    # The provider reported nothing we can act on (no matching withdrawal, a state that is not
    # final or not known): held, never released, settled or resent, until known or resolved.
    NEEDS_REVIEW = "NEEDS_REVIEW"


class ItemOutcome(BaseModel):
    """How one recipient ended; self-contained so a report needs nothing else."""

    index: int
    address: str
    amount: Decimal
    reference: str | None = None
    state: ItemState
    reason: str | None = None
    tx_hash: str | None = None
    fee: Decimal | None = None
    attempts: int = 0
    provider_id: str | None = None

    @classmethod
    def unpaid(
        cls, item: MassItem, state: ItemState, reason: str, attempts: int = 0
    ) -> ItemOutcome:
        """How an item ended that the provider never paid: never sent, refused, canceled."""
        return cls(
            index=item.index,
            address=item.address,
            amount=item.amount,
            reference=item.reference,
            state=state,
            reason=reason,
            attempts=attempts,
        )
