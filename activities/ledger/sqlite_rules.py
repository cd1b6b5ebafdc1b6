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
    LedgerBalance,
    LedgerEntry,
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
