"""Requests, entries and balances of the merchant ledger (pydantic v2, camelCase on the wire).

Amounts are `Decimal` and refuse floats (see `calypso.models.Money`). An entry's `amount` is
what was reserved; once settled, `paid_amount + fee` is what actually left the sub-account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field

from calypso.models import IsoDatetime, Money, WireModel

PositiveMoney = Annotated[Money, Field(gt=0)]
NonNegativeMoney = Annotated[Money, Field(ge=0)]
Key = Annotated[str, Field(min_length=1)]


class EntryState(StrEnum):
    RESERVED = "RESERVED"
    SETTLED = "SETTLED"
    RELEASED = "RELEASED"


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


# A recipient's address, compared exactly as given; a blank one counts as none.
Address = Annotated[str | None, BeforeValidator(_blank_is_none)]


class SpendingLimit(WireModel):
    """At most `max_amount` of the reservation's currency reserved or paid from its sub-account
    within any `window_seconds` (docs/ledger.md, "Spending limits"). `name` labels it in
    refusals ("24h"); without one the window's length does."""

    window_seconds: Annotated[int, Field(gt=0, strict=True)]
    max_amount: PositiveMoney
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or f"{self.window_seconds}s"


class ReserveRequest(WireModel):
    """Hold `amount` of the sub-account's available balance for the payout `key`.

    `limits` are checked in the same transaction as the reservation (SQLite and PostgreSQL
    ledgers only); `address` is the recipient's, kept so that `paid_before` can answer. Both
    have defaults, so a request recorded before they existed still reads."""

    key: Key
    sub_account: Annotated[str, Field(min_length=1)]
    currency: Annotated[str, Field(min_length=1)]
    amount: PositiveMoney
    limits: list[SpendingLimit] = Field(default_factory=list)
    address: Address = None


class SettleRequest(WireModel):
    """The payout completed: `paid_amount` reached the recipient and `fee` was charged."""

    key: Key
    paid_amount: NonNegativeMoney
    fee: NonNegativeMoney = Decimal(0)


class ReleaseRequest(WireModel):
    """The payout will not happen: make the reserved amount available again."""

    key: Key
    reason: str = ""


LedgerRequest = ReserveRequest | SettleRequest | ReleaseRequest


class LedgerEntry(WireModel):
    """One payout's footprint in the ledger.

    `sub_account` and `currency` are `None` only on a release tombstone: a release that arrived
    for a key that was never reserved (see docs/ledger.md).
    """

    key: str
    sub_account: str | None = None
    currency: str | None = None
    amount: Money
    state: EntryState
    paid_amount: Money | None = None
    fee: Money | None = None
    reason: str | None = None
    updated_at: IsoDatetime

    def same_reservation_as(self, request: ReserveRequest) -> bool:
        """Whether a repeated reserve asks for exactly this reservation (1.0 equals 1.00)."""
        return (
            self.sub_account == request.sub_account
            and self.currency == request.currency
            and self.amount == request.amount
        )


class LedgerBalance(WireModel):
    """A sub-account's money in one currency.

    `available` can be reserved; `reserved` is held for payouts in flight; `settled` is the total
    that has left (paid amounts plus fees).
    """

    sub_account: str
    currency: str
    available: Money
    reserved: Money
    settled: Money


class LedgerRecord(LedgerEntry):
    """An entry as the embedded ledger lists it for operators: also when it was reserved
    (`None` for a tombstone, or an entry written before the ledger kept that time). A settled or
    released entry moved last at `updated_at`."""

    reserved_at: IsoDatetime | None = None


class EntryTotal(WireModel):
    """How many entries are in `state` in `currency` (None: release tombstones), and the amount
    they reserved."""

    state: EntryState
    currency: str | None = None
    count: int
    amount: Money


class Funding(WireModel):
    """One credit to a sub-account, kept under the operator's `reference` (funds once)."""

    reference: Key
    sub_account: Annotated[str, Field(min_length=1)]
    currency: Annotated[str, Field(min_length=1)]
    amount: PositiveMoney
    funded_at: IsoDatetime


class FundingResult(WireModel):
    """A funding and the balance after it; `new` is False when the reference had funded it
    already (nothing moved this time)."""

    funding: Funding
    new: bool
    balance: LedgerBalance


def utc_now() -> datetime:
    return datetime.now(UTC)
