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
from activities.ledger.errors import InsufficientLedgerFundsError
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


def reserve(conn: sqlite3.Connection, request: ReserveRequest, now: datetime) -> LedgerEntry:
    existing = tables.read_entry(conn, request.key)
    if existing is not None:
        return rules.reserved_already(existing, request)
    balance = tables.read_balance(conn, request.sub_account, request.currency)
    entry = rules.new_reservation(balance, request, now, ledger=LEDGER)
    tables.adjust_balance(conn, balance, available=-request.amount, reserved=request.amount)
    tables.write_entry(conn, entry)
    tables.note_reserved(conn, request.key, now)
    return entry


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
