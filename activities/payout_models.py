"""Inputs and outputs of the payout activities (one model in, one model out)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, Field

from .models import Payout


class FundsCheckInput(BaseModel):
    currency: str
    amount: Decimal


class FundsCheck(BaseModel):
    """Balance and fee in one call: the two need no separate retries."""

    balance: Decimal
    fee: Decimal
    needed: Decimal  # amount + fee, the sender pays the fee on top

    @property
    def enough(self) -> bool:
        return self.balance >= self.needed


class CreatePayoutInput(BaseModel):
    provider_key: UUID
    deposit_address: str
    amount: Decimal
    currency: str
    comment: str | None = None
    external_id: str | None = None


class FetchPayoutInput(BaseModel):
    provider_key: UUID


class ProviderPayout(BaseModel):
    """What the saga keeps of the provider's payout record."""

    id: str
    state: str
    fee: Decimal | None = None
    tx_hash: str | None = None
    errors: list[str] = Field(default_factory=list)
    cancel_message: str | None = None

    @classmethod
    def from_payout(cls, payout: Payout) -> ProviderPayout:
        errors = [
            f"{error.error_message or 'no message'} (status {error.status or 'unknown'})"
            for group in (payout.errors.withdrawal_errors if payout.errors else [])
            for error in group.errors
        ]
        return cls(
            id=payout.id,
            state=payout.state,
            fee=payout.fee,
            tx_hash=payout.transaction_hash,
            errors=errors,
            cancel_message=payout.cancellation.cancel_message if payout.cancellation else None,
        )


class CancelProviderInput(BaseModel):
    provider_id: str
    provider_key: UUID
    reason: str


class CancelProviderResult(BaseModel):
    accepted: bool
    message: str
    payout: ProviderPayout | None = None
