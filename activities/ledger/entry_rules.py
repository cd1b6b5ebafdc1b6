"""The ledger's rules as decisions (docs/ledger.md: the semantics every adapter honours): given
what an entry, a balance or a funding is now, what the request may do. Pure — no I/O — so that
the SQLite and PostgreSQL adapters (`sqlite_rules`, `postgres_rules`) decide the same way and
only read, lock and write their own rows around these calls.
"""

from __future__ import annotations

import decimal
from datetime import datetime
from decimal import Decimal

from activities.ledger.errors import (
    InsufficientLedgerFundsError,
    LedgerConflictError,
    LedgerNotFoundError,
    LedgerStateError,
)
from activities.ledger.models import (
    EntryState,
    Funding,
    LedgerBalance,
    LedgerEntry,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
)

# Balance arithmetic: a result that would need rounding raises instead of drifting by a wei.
EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


def reserved_already(existing: LedgerEntry, request: ReserveRequest) -> LedgerEntry:
    """A reserve of a key that has an entry: the same reservation again, or an error."""
    if existing.state is EntryState.RELEASED:
        # Also what stops a late, zombie reserve after compensation left a tombstone.
        raise LedgerStateError(f"{request.key!r} was released; reserve under a new key")
    if not existing.same_reservation_as(request):
        raise LedgerConflictError(
            f"{request.key!r} is already reserved as {existing.amount} {existing.currency} "
            f"on {existing.sub_account!r}"
        )
    return existing


def new_reservation(
    balance: LedgerBalance, request: ReserveRequest, now: datetime, *, ledger: str
) -> LedgerEntry:
    """The entry a first reserve writes, when `balance` covers it."""
    if balance.available < request.amount:
        raise InsufficientLedgerFundsError(
            sub_account=request.sub_account,
            currency=request.currency,
            needed=request.amount,
            available=balance.available,
            ledger=ledger,
        )
    return LedgerEntry(
        key=request.key,
        sub_account=request.sub_account,
        currency=request.currency,
        amount=request.amount,
        state=EntryState.RESERVED,
        updated_at=now,
    )


def settled_already(entry: LedgerEntry | None, request: SettleRequest) -> LedgerEntry | None:
    """The entry when it is settled already (the first settlement wins); None when `request`
    may settle it; an error when it may not."""
    if entry is None:
        raise LedgerNotFoundError(f"{request.key!r} was never reserved")
    if entry.state is EntryState.SETTLED:
        return entry
    if entry.state is EntryState.RELEASED:
        raise LedgerStateError(f"{request.key!r} was released; it cannot be settled")
    if request.paid_amount > entry.amount:
        raise LedgerConflictError(
            f"{request.key!r}: paid {request.paid_amount} but only {entry.amount} was reserved"
        )
    return None


def settlement(
    entry: LedgerEntry, request: SettleRequest, now: datetime
) -> tuple[LedgerEntry, Decimal, Decimal]:
    """The settled entry, what goes back to available, and what has left (paid + fee).

    The reservation is consumed whole; the fee on top comes out of available, and whatever the
    payout did not use (a fee taken out of the amount, a smaller payout) goes back. Available may
    dip below zero: the money has already left at the provider, so the books must record it, and
    the next reserve is refused until the sub-account is funded."""
    with decimal.localcontext(EXACT):
        spent = request.paid_amount + request.fee
        back = entry.amount - spent
    settled = entry.model_copy(
        update={
            "state": EntryState.SETTLED,
            "paid_amount": request.paid_amount,
            "fee": request.fee,
            "updated_at": now,
        }
    )
    return settled, back, spent


def tombstone(request: ReleaseRequest, now: datetime) -> LedgerEntry:
    """A release before (or instead of) the reserve closes the key: a late reserve then finds
    it released."""
    return LedgerEntry(
        key=request.key,
        sub_account=None,
        currency=None,
        amount=Decimal(0),
        state=EntryState.RELEASED,
        reason=request.reason,
        updated_at=now,
    )


def released_already(entry: LedgerEntry, request: ReleaseRequest) -> LedgerEntry | None:
    """The entry when it is released already; None when `request` may release it; an error
    when the money has left."""
    if entry.state is EntryState.RELEASED:
        return entry
    if entry.state is EntryState.SETTLED:
        raise LedgerStateError(f"{request.key!r} was settled; the money has left")
    return None


def released(entry: LedgerEntry, request: ReleaseRequest, now: datetime) -> LedgerEntry:
    return entry.model_copy(
        update={"state": EntryState.RELEASED, "reason": request.reason, "updated_at": now}
    )


def same_funding(earlier: Funding, funding: Funding) -> None:
    """A funding under a used reference must be the same funding; nothing moves twice."""
    if (earlier.sub_account, earlier.currency, earlier.amount) != (
        funding.sub_account,
        funding.currency,
        funding.amount,
    ):
        raise LedgerConflictError(
            f"reference {funding.reference!r} already funded {earlier.amount} {earlier.currency}"
            f" to {earlier.sub_account!r} at {earlier.funded_at.isoformat(timespec='seconds')};"
            " use a new reference for another funding"
        )
