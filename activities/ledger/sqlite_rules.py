"""The ledger's rules (docs/ledger.md: the semantics every adapter honours) for SqliteLedger.

Each function runs inside the caller's `BEGIN IMMEDIATE` transaction and either returns the entry
or raises a permanent `LedgerError`, which rolls the transaction back.
"""

from __future__ import annotations

import decimal
import sqlite3
from datetime import datetime
from decimal import Decimal

from activities.ledger import sqlite_tables as tables
from activities.ledger.errors import (
    InsufficientLedgerFundsError,
    LedgerConflictError,
    LedgerNotFoundError,
    LedgerStateError,
)
from activities.ledger.models import (
    EntryState,
    Funding,
    FundingResult,
    LedgerBalance,
    LedgerEntry,
    LedgerRequest,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
)


def reserve(conn: sqlite3.Connection, request: ReserveRequest, now: datetime) -> LedgerEntry:
    existing = tables.read_entry(conn, request.key)
    if existing is not None:
        if existing.state is EntryState.RELEASED:
            # Also what stops a late, zombie reserve after compensation left a tombstone.
            raise LedgerStateError(f"{request.key!r} was released; reserve under a new key")
        if not existing.same_reservation_as(request):
            raise LedgerConflictError(
                f"{request.key!r} is already reserved as {existing.amount} {existing.currency} "
                f"on {existing.sub_account!r}"
            )
        return existing
    balance = tables.read_balance(conn, request.sub_account, request.currency)
    if balance.available < request.amount:
        raise InsufficientLedgerFundsError(
            sub_account=request.sub_account,
            currency=request.currency,
            needed=request.amount,
            available=balance.available,
        )
    tables.adjust_balance(conn, balance, available=-request.amount, reserved=request.amount)
    entry = LedgerEntry(
        key=request.key,
        sub_account=request.sub_account,
        currency=request.currency,
        amount=request.amount,
        state=EntryState.RESERVED,
        updated_at=now,
    )
    tables.write_entry(conn, entry)
    tables.note_reserved(conn, request.key, now)
    return entry


def settle(conn: sqlite3.Connection, request: SettleRequest, now: datetime) -> LedgerEntry:
    entry = tables.read_entry(conn, request.key)
    if entry is None:
        raise LedgerNotFoundError(f"{request.key!r} was never reserved")
    if entry.state is EntryState.SETTLED:
        return entry  # the first settlement wins; a repeat only reads it back
    if entry.state is EntryState.RELEASED:
        raise LedgerStateError(f"{request.key!r} was released; it cannot be settled")
    if request.paid_amount > entry.amount:
        raise LedgerConflictError(
            f"{request.key!r}: paid {request.paid_amount} but only {entry.amount} was reserved"
        )
    assert entry.sub_account is not None and entry.currency is not None  # only tombstones lack them
    with decimal.localcontext(tables.EXACT):
        spent = request.paid_amount + request.fee
        # The reservation is consumed whole; the fee on top comes out of available, and whatever
        # the payout did not use (a fee taken out of the amount, a smaller payout) goes back.
        # Available may dip below zero here: the money has already left at the provider, so the
        # books must record it, and the next reserve is refused until the sub-account is funded.
        balance = tables.read_balance(conn, entry.sub_account, entry.currency)
        tables.adjust_balance(
            conn, balance, available=entry.amount - spent, reserved=-entry.amount, settled=spent
        )
    settled = entry.model_copy(
        update={
            "state": EntryState.SETTLED,
            "paid_amount": request.paid_amount,
            "fee": request.fee,
            "updated_at": now,
        }
    )
    tables.write_entry(conn, settled)
    return settled


def release(conn: sqlite3.Connection, request: ReleaseRequest, now: datetime) -> LedgerEntry:
    entry = tables.read_entry(conn, request.key)
    if entry is None:
        # Compensation can run for a reserve that never happened (it failed, or it has not run
        # yet). Record the release so the key is closed: a late reserve then finds it released.
        tombstone = LedgerEntry(
            key=request.key,
            sub_account=None,
            currency=None,
            amount=Decimal(0),
            state=EntryState.RELEASED,
            reason=request.reason,
            updated_at=now,
        )
        tables.write_entry(conn, tombstone)
        return tombstone
    if entry.state is EntryState.RELEASED:
        return entry
    if entry.state is EntryState.SETTLED:
        raise LedgerStateError(f"{request.key!r} was settled; the money has left")
    assert entry.sub_account is not None and entry.currency is not None
    balance = tables.read_balance(conn, entry.sub_account, entry.currency)
    tables.adjust_balance(conn, balance, available=entry.amount, reserved=-entry.amount)
    released = entry.model_copy(
        update={"state": EntryState.RELEASED, "reason": request.reason, "updated_at": now}
    )
    tables.write_entry(conn, released)
    return released


def fund(
    conn: sqlite3.Connection, sub_account: str, currency: str, amount: Decimal
) -> LedgerBalance:
    return tables.adjust_balance(
        conn, tables.read_balance(conn, sub_account, currency), available=amount
    )


def fund_once(conn: sqlite3.Connection, funding: Funding) -> FundingResult:
    """Credit the funding unless its reference has funded already: then the same funding is
    read back (nothing moves), and a different one under that reference is refused."""
    earlier = tables.read_funding(conn, funding.reference)
    if earlier is None:
        tables.write_funding(conn, funding)
        balance = fund(conn, funding.sub_account, funding.currency, funding.amount)
        return FundingResult(funding=funding, new=True, balance=balance)
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
    balance = tables.read_balance(conn, earlier.sub_account, earlier.currency)
    return FundingResult(funding=earlier, new=False, balance=balance)


def batch_shortfall(
    conn: sqlite3.Connection, requests: list[LedgerRequest], refused: InsufficientLedgerFundsError
) -> InsufficientLedgerFundsError:
    """A refused batch's refusal as a whole, read after it rolled back: what its new
    reservations on the refused sub-account and currency need together, against what is
    available to them (not what was left when one item of it was refused)."""
    pair = (refused.sub_account, refused.currency)
    with decimal.localcontext(tables.EXACT):
        needed = sum(
            (
                request.amount
                for request in requests
                if isinstance(request, ReserveRequest)
                and (request.sub_account, request.currency) == pair
                and tables.read_entry(conn, request.key) is None
            ),
            Decimal(0),
        )
    return InsufficientLedgerFundsError(
        sub_account=refused.sub_account,
        currency=refused.currency,
        needed=needed,
        available=tables.read_balance(conn, *pair).available,
    )
