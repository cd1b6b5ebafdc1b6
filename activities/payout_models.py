"""Inputs and outputs of the payout activities (one model in, one model out)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, Field

from calypso.models import MassPayout, Payout, PayoutErrors, WithdrawalError


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
        errors = _error_lines(payout.errors)
        return cls(
            id=payout.id,
            state=payout.state,
            fee=payout.fee,
            tx_hash=payout.transaction_hash,
            errors=errors,
            cancel_message=payout.cancellation.cancel_message if payout.cancellation else None,
        )

    @classmethod
    def from_mass_payout(cls, mass: MassPayout) -> ProviderPayout:
        return cls(
            id=mass.id,
            state=mass.state,
            fee=mass.total_fee,
            errors=_error_lines(mass.errors),
        )


def error_line(error: WithdrawalError) -> str:
    """One provider error as people read it: the message, then the status code when it adds
    something. `SUCCESS` only says the funds check passed, so after a failure it would read as a
    contradiction ("rejected (status SUCCESS)") and is left out."""
    message = error.error_message or "no message from the provider"
    if error.status and error.status != "SUCCESS":
        return f"{message} (status {error.status})"
    return message


def _error_lines(errors: PayoutErrors | None) -> list[str]:
    groups = errors.withdrawal_errors if errors else []
    return [error_line(error) for group in groups for error in group.errors]


class CancelProviderInput(BaseModel):
    provider_id: str
    provider_key: UUID
    reason: str


class CancelProviderResult(BaseModel):
    accepted: bool
    message: str
    payout: ProviderPayout | None = None
