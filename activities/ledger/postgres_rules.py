"""The ledger's rules for PostgresLedger: the decisions of `entry_rules`, as on SQLite, with the
rows a move depends on locked first, since PostgreSQL lets other transactions run meanwhile.

Each function runs inside the caller's transaction and either returns the entry or raises; any
exception rolls the whole transaction back (a batch included).
"""

from __future__ import annotations

import decimal
from datetime import datetime
from decimal import Decimal

from activities.ledger import entry_rules as rules
from activities.ledger import postgres_tables as tables
from activities.ledger.errors import (
    InsufficientLedgerFundsError,
    LedgerUnavailableError,
)
from activities.ledger.models import (
    Funding,
    FundingResult,
    LedgerBalance,
    LedgerEntry,
    LedgerRequest,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
)

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
        return rules.reserved_already(existing, request)
    # The balance row is the sub-account's lock: every reserve on it queues here.
    balance = await tables.read_balance(conn, request.sub_account, request.currency, lock=True)
    # The same key may have been reserved by whoever held the lock before us.
    existing = await tables.read_entry(conn, request.key, lock=True)
    if existing is not None:
        return rules.reserved_already(existing, request)
    entry = rules.new_reservation(balance, request, now, ledger=LEDGER)
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


async def settle(conn: tables.Conn, request: SettleRequest, now: datetime) -> LedgerEntry:
    entry = await tables.read_entry(conn, request.key, lock=True)
    done = rules.settled_already(entry, request)
    if done is not None:
        return done  # a repeat only reads the first settlement back
    assert entry is not None and entry.sub_account is not None and entry.currency is not None
    settled, back, spent = rules.settlement(entry, request, now)
    await tables.adjust_balance(
        conn,
        entry.sub_account,
        entry.currency,
        available=back,
        reserved=-entry.amount,
        settled=spent,
    )
    await tables.update_entry(conn, settled)
    return settled


async def release(conn: tables.Conn, request: ReleaseRequest, now: datetime) -> LedgerEntry:
    entry = await tables.read_entry(conn, request.key, lock=True)
    if entry is None:
        # A release before (or instead of) the reserve closes the key with a tombstone.
        tombstone = rules.tombstone(request, now)
        if await tables.insert_entry(conn, tombstone, reserved_at=None):
            return tombstone
        entry = await tables.read_entry(conn, request.key, lock=True)  # reserved meanwhile
        assert entry is not None
    done = rules.released_already(entry, request)
    if done is not None:
        return done
    assert entry.sub_account is not None and entry.currency is not None
    await tables.adjust_balance(
        conn, entry.sub_account, entry.currency, available=entry.amount, reserved=-entry.amount
    )
    released = rules.released(entry, request, now)
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
    rules.same_funding(earlier, funding)
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
            with decimal.localcontext(rules.EXACT):
                needed += request.amount
    balance: LedgerBalance = await tables.read_balance(conn, *pair)
    return InsufficientLedgerFundsError(
        sub_account=refused.sub_account,
        currency=refused.currency,
        needed=needed,
        available=balance.available,
        ledger=LEDGER,
    )
