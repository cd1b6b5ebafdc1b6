"""The ledger's rules (docs/ledger.md) for PostgresLedger: the same as `sqlite_rules`, with the
rows a move depends on locked first, since PostgreSQL lets other transactions run meanwhile.

Each function runs inside the caller's transaction and either returns the entry or raises; any
exception rolls the whole transaction back (a batch included).
"""

from __future__ import annotations

import decimal
from datetime import datetime
from decimal import Decimal

from activities.ledger import postgres_tables as tables
from activities.ledger.errors import (
    InsufficientLedgerFundsError,
    LedgerConflictError,
    LedgerNotFoundError,
    LedgerStateError,
    LedgerUnavailableError,
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
from activities.ledger.sqlite_tables import EXACT

LEDGER = "postgres"


async def apply(conn: tables.Conn, request: LedgerRequest, now: datetime) -> LedgerEntry:
    if isinstance(request, ReserveRequest):
        return await reserve(conn, request, now)
    if isinstance(request, SettleRequest):
        return await settle(conn, request, now)
    return await release(conn, request, now)


async def reserve(conn: tables.Conn, request: ReserveRequest, now: datetime) -> LedgerEntry:
    existing = await tables.read_entry(conn, request.key, lock=True)
    if existing is not None:
        return _reserved_already(existing, request)
    # The balance row is the sub-account's lock: every reserve on it queues here.
    balance = await tables.read_balance(conn, request.sub_account, request.currency, lock=True)
    # The same key may have been reserved by whoever held the lock before us.
    existing = await tables.read_entry(conn, request.key, lock=True)
    if existing is not None:
        return _reserved_already(existing, request)
    if balance.available < request.amount:
        raise InsufficientLedgerFundsError(
            sub_account=request.sub_account,
            currency=request.currency,
            needed=request.amount,
            available=balance.available,
            ledger=LEDGER,
        )
    entry = LedgerEntry(
        key=request.key,
        sub_account=request.sub_account,
        currency=request.currency,
        amount=request.amount,
        state=EntryState.RESERVED,
        updated_at=now,
    )
    if not await tables.insert_entry(conn, entry, reserved_at=now):
        # Written meanwhile under another sub-account's lock: the next attempt reads it.
        raise LedgerUnavailableError(f"{request.key!r} was written concurrently; try again")
    await tables.adjust_balance(
        conn,
        request.sub_account,
        request.currency,
        available=-request.amount,
        reserved=request.amount,
    )
    return entry


def _reserved_already(existing: LedgerEntry, request: ReserveRequest) -> LedgerEntry:
    if existing.state is EntryState.RELEASED:
        # Also what stops a late, zombie reserve after compensation left a tombstone.
        raise LedgerStateError(f"{request.key!r} was released; reserve under a new key")
    if not existing.same_reservation_as(request):
        raise LedgerConflictError(
            f"{request.key!r} is already reserved as {existing.amount} {existing.currency} "
            f"on {existing.sub_account!r}"
        )
    return existing


async def settle(conn: tables.Conn, request: SettleRequest, now: datetime) -> LedgerEntry:
    entry = await tables.read_entry(conn, request.key, lock=True)
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
    with decimal.localcontext(EXACT):
        spent = request.paid_amount + request.fee
        back = entry.amount - spent
    # As on SQLite: the reservation is consumed whole, and available may dip below zero.
    await tables.adjust_balance(
        conn,
        entry.sub_account,
        entry.currency,
        available=back,
        reserved=-entry.amount,
        settled=spent,
    )
    settled = entry.model_copy(
        update={
            "state": EntryState.SETTLED,
            "paid_amount": request.paid_amount,
            "fee": request.fee,
            "updated_at": now,
        }
    )
    await tables.update_entry(conn, settled)
    return settled


async def release(conn: tables.Conn, request: ReleaseRequest, now: datetime) -> LedgerEntry:
    entry = await tables.read_entry(conn, request.key, lock=True)
    if entry is None:
        # A release before (or instead of) the reserve closes the key with a tombstone.
        tombstone = LedgerEntry(
            key=request.key,
            amount=Decimal(0),
            state=EntryState.RELEASED,
            reason=request.reason,
            updated_at=now,
        )
        if await tables.insert_entry(conn, tombstone, reserved_at=None):
            return tombstone
        entry = await tables.read_entry(conn, request.key, lock=True)  # reserved meanwhile
        assert entry is not None
    if entry.state is EntryState.RELEASED:
        return entry
    if entry.state is EntryState.SETTLED:
        raise LedgerStateError(f"{request.key!r} was settled; the money has left")
    assert entry.sub_account is not None and entry.currency is not None
    await tables.adjust_balance(
        conn, entry.sub_account, entry.currency, available=entry.amount, reserved=-entry.amount
    )
    released = entry.model_copy(
        update={"state": EntryState.RELEASED, "reason": request.reason, "updated_at": now}
    )
    await tables.update_entry(conn, released)
    return released


async def fund_once(conn: tables.Conn, funding: Funding) -> FundingResult:
    """Credit the funding unless its reference has funded already: then the same funding is
    read back (nothing moves), and a different one under that reference is refused."""
    if await tables.insert_funding(conn, funding):
        balance = await tables.adjust_balance(
            conn, funding.sub_account, funding.currency, available=funding.amount
        )
        return FundingResult(funding=funding, new=True, balance=balance)
    earlier = await tables.read_funding(conn, funding.reference)
    assert earlier is not None
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
    balance = await tables.read_balance(conn, earlier.sub_account, earlier.currency)
    return FundingResult(funding=earlier, new=False, balance=balance)


async def batch_shortfall(
    conn: tables.Conn, requests: list[LedgerRequest], refused: InsufficientLedgerFundsError
) -> InsufficientLedgerFundsError:
    """A refused batch's refusal as a whole, read after it rolled back (as `sqlite_rules`)."""
    pair = (refused.sub_account, refused.currency)
    needed = Decimal(0)
    for request in requests:
        if (
            isinstance(request, ReserveRequest)
            and (request.sub_account, request.currency) == pair
            and await tables.read_entry(conn, request.key) is None
        ):
            with decimal.localcontext(EXACT):
                needed += request.amount
    balance: LedgerBalance = await tables.read_balance(conn, *pair)
    return InsufficientLedgerFundsError(
        sub_account=refused.sub_account,
        currency=refused.currency,
        needed=needed,
        available=balance.available,
        ledger=LEDGER,
    )
