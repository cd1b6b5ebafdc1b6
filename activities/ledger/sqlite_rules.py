"""The ledger's rules for SqliteLedger: the decisions of `entry_rules`, with this adapter's reads
and writes around them.

Each function runs inside the caller's `BEGIN IMMEDIATE` transaction and either returns the entry
or raises a permanent `LedgerError`, which rolls the transaction back.
"""

from __future__ import annotations

import decimal
import sqlite3
from datetime import datetime
from decimal import Decimal

from activities.ledger import entry_rules as rules
from activities.ledger import sqlite_tables as tables
from activities.ledger.errors import InsufficientLedgerFundsError, SpendingLimitExceededError
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

LEDGER = "sqlite"


def apply(
    conn: sqlite3.Connection, request: LedgerRequest, now: datetime, known: rules.WindowUsage
) -> LedgerEntry:
    """One request of a batch; `known` carries the spending windows' usage from item to item."""
    if isinstance(request, ReserveRequest):
        return reserve(conn, request, now, known)
    entry = (
        settle(conn, request, now)
        if isinstance(request, SettleRequest)
        else release(conn, request, now)
    )
    known.moved(entry.sub_account, entry.currency)
    return entry


def reserve(
    conn: sqlite3.Connection,
    request: ReserveRequest,
    now: datetime,
    known: rules.WindowUsage | None = None,
) -> LedgerEntry:
    """Reserve under the write lock the caller's `BEGIN IMMEDIATE` holds: nobody else writes
    until commit, so the balance and the spending windows read here stay true."""
    existing = tables.read_entry(conn, request.key)
    if existing is not None:
        return rules.reserved_already(existing, request)  # a repeat: no limit applies again
    balance = tables.read_balance(conn, request.sub_account, request.currency)
    entry = rules.new_reservation(balance, request, now, ledger=LEDGER)
    known = known if known is not None else rules.WindowUsage()
    usages = [
        window_usage(conn, known, request, limit.window_seconds, now) for limit in request.limits
    ]
    rules.within_limits(request, usages, ledger=LEDGER)
    tables.adjust_balance(conn, balance, available=-request.amount, reserved=request.amount)
    tables.write_entry(conn, entry)
    tables.note_reserved(conn, request.key, now)
    if request.address is not None:
        tables.note_recipient(conn, request.key, request.address)
    known.reserved(request.sub_account, request.currency, request.amount)
    return entry


def window_usage(
    conn: sqlite3.Connection,
    known: rules.WindowUsage,
    request: ReserveRequest,
    window_seconds: int,
    now: datetime,
) -> Decimal:
    pair = (request.sub_account, request.currency)
    usage = known.get(*pair, window_seconds)
    if usage is None:
        since = rules.window_start(now, window_seconds)
        usage = tables.window_usage(conn, *pair, since)
        known.remember(*pair, window_seconds, usage)
    return usage


def settle(conn: sqlite3.Connection, request: SettleRequest, now: datetime) -> LedgerEntry:
    entry = tables.read_entry(conn, request.key)
    done = rules.settled_already(entry, request)
    if done is not None:
        return done  # a repeat only reads the first settlement back
    assert entry is not None and entry.sub_account is not None and entry.currency is not None
    settled, back, spent = rules.settlement(entry, request, now)
    balance = tables.read_balance(conn, entry.sub_account, entry.currency)
    tables.adjust_balance(conn, balance, available=back, reserved=-entry.amount, settled=spent)
    tables.write_entry(conn, settled)
    return settled


def release(conn: sqlite3.Connection, request: ReleaseRequest, now: datetime) -> LedgerEntry:
    entry = tables.read_entry(conn, request.key)
    if entry is None:
        # Compensation can run for a reserve that never happened (it failed, or it has not run
        # yet): the tombstone closes the key.
        tombstone = rules.tombstone(request, now)
        tables.write_entry(conn, tombstone)
        return tombstone
    done = rules.released_already(entry, request)
    if done is not None:
        return done
    assert entry.sub_account is not None and entry.currency is not None
    balance = tables.read_balance(conn, entry.sub_account, entry.currency)
    tables.adjust_balance(conn, balance, available=entry.amount, reserved=-entry.amount)
    released = rules.released(entry, request, now)
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
    rules.same_funding(earlier, funding)
    balance = tables.read_balance(conn, earlier.sub_account, earlier.currency)
    return FundingResult(funding=earlier, new=False, balance=balance)


def batch_shortfall(
    conn: sqlite3.Connection, requests: list[LedgerRequest], refused: InsufficientLedgerFundsError
) -> InsufficientLedgerFundsError:
    """A refused batch's refusal as a whole, read after it rolled back: what its new
    reservations on the refused sub-account and currency need together, against what is
    available to them (not what was left when one item of it was refused)."""
    pair = (refused.sub_account, refused.currency)
    with decimal.localcontext(rules.EXACT):
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


def batch_limit_hit(
    conn: sqlite3.Connection,
    requests: list[LedgerRequest],
    refused: SpendingLimitExceededError,
    now: datetime,
) -> SpendingLimitExceededError:
    """A batch refused by a spending limit, as a whole, read after it rolled back: what its new
    reservations on that sub-account and currency need together, against what the window held
    without them."""
    items, amount = rules.batch_reservations(
        requests,
        refused.sub_account,
        refused.currency,
        lambda key: tables.read_entry(conn, key) is None,
    )
    since = rules.window_start(now, refused.window_seconds)
    return SpendingLimitExceededError(
        sub_account=refused.sub_account,
        currency=refused.currency,
        limit_name=refused.limit_name,
        window_seconds=refused.window_seconds,
        max_amount=refused.max_amount,
        usage=tables.window_usage(conn, refused.sub_account, refused.currency, since),
        amount=amount,
        items=items,
        ledger=LEDGER,
    )
