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
    SpendingLimitExceededError,
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


async def apply(
    conn: tables.Conn, request: LedgerRequest, now: datetime, known: rules.WindowUsage
) -> LedgerEntry:
    """One request of a batch; `known` carries the spending windows' usage from item to item."""
    if isinstance(request, ReserveRequest):
        return await reserve(conn, request, now, known)
    if isinstance(request, SettleRequest):
        entry = await settle(conn, request, now)
    else:
        entry = await release(conn, request, now)
    known.moved(entry.sub_account, entry.currency)
    return entry


async def reserve(
    conn: tables.Conn,
    request: ReserveRequest,
    now: datetime,
    known: rules.WindowUsage | None = None,
) -> LedgerEntry:
    existing = await tables.read_entry(conn, request.key, lock=True)
    if existing is not None:
        return rules.reserved_already(existing, request)  # a repeat: no limit applies again
    # The balance row is the sub-account's lock: every reserve on it queues here.
    balance = await tables.read_balance(conn, request.sub_account, request.currency, lock=True)
    # The same key may have been reserved by whoever held the lock before us.
    existing = await tables.read_entry(conn, request.key, lock=True)
    if existing is not None:
        return rules.reserved_already(existing, request)
    entry = rules.new_reservation(balance, request, now, ledger=LEDGER)
    # Only a funded sub-account gets this far, so its balance row exists and is locked: every
    # reservation on it that committed before is visible to the reads below (READ COMMITTED
    # reads each statement afresh), and none can commit until this one does.
    known = known if known is not None else rules.WindowUsage()
    usages = [
        await window_usage(conn, known, request, limit.window_seconds, now)
        for limit in request.limits
    ]
    rules.within_limits(request, usages, ledger=LEDGER)
    if not await tables.insert_entry(conn, entry, reserved_at=now, address=request.address):
        # Written meanwhile under another sub-account's lock: the next attempt reads it.
        raise LedgerUnavailableError(f"{request.key!r} was written concurrently; try again")
    await tables.adjust_balance(
        conn,
        request.sub_account,
        request.currency,
        available=-request.amount,
        reserved=request.amount,
    )
    known.reserved(request.sub_account, request.currency, request.amount)
    return entry


async def window_usage(
    conn: tables.Conn,
    known: rules.WindowUsage,
    request: ReserveRequest,
    window_seconds: int,
    now: datetime,
) -> Decimal:
    pair = (request.sub_account, request.currency)
    usage = known.get(*pair, window_seconds)
    if usage is None:
        since = rules.window_start(now, window_seconds)
        usage = await tables.window_usage(conn, *pair, since)
        known.remember(*pair, window_seconds, usage)
    return usage


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


async def batch_limit_hit(
    conn: tables.Conn,
    requests: list[LedgerRequest],
    refused: SpendingLimitExceededError,
    now: datetime,
) -> SpendingLimitExceededError:
    """A batch refused by a spending limit, as a whole, read after it rolled back (as
    `sqlite_rules.batch_limit_hit`)."""
    existing = {
        request.key
        for request in requests
        if isinstance(request, ReserveRequest)
        and (request.sub_account, request.currency) == (refused.sub_account, refused.currency)
        and await tables.read_entry(conn, request.key) is not None
    }
    items, amount = rules.batch_reservations(
        requests, refused.sub_account, refused.currency, lambda key: key not in existing
    )
    since = rules.window_start(now, refused.window_seconds)
    return SpendingLimitExceededError(
        sub_account=refused.sub_account,
        currency=refused.currency,
        limit_name=refused.limit_name,
        window_seconds=refused.window_seconds,
        max_amount=refused.max_amount,
        usage=await tables.window_usage(conn, refused.sub_account, refused.currency, since),
        amount=amount,
        items=items,
        ledger=LEDGER,
    )
