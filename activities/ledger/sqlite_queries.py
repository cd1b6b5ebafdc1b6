"""What operators read from the embedded ledger: every balance, and entries by key, by key prefix
(a mass payout's items) or by sub-account, with when each was reserved. Read-only.
"""

from __future__ import annotations

import decimal
import sqlite3
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from activities.ledger import sqlite_tables as tables
from activities.ledger.entry_rules import EXACT
from activities.ledger.models import EntryState, EntryTotal, LedgerBalance, LedgerRecord

_RECORD = (
    "SELECT e.key, e.sub_account, e.currency, e.amount, e.state, e.paid_amount, e.fee,"
    " e.reason, e.updated_at, r.reserved_at"
    " FROM entries e LEFT JOIN reservation_times r ON r.key = e.key"
)


def balances(
    conn: sqlite3.Connection, sub_account: str | None, currency: str | None
) -> list[LedgerBalance]:
    """Every sub-account's balance per currency, or those `sub_account` / `currency` name."""
    rows = conn.execute(
        "SELECT sub_account, currency, available, reserved, settled FROM balances"
        " WHERE (?1 IS NULL OR sub_account = ?1) AND (?2 IS NULL OR currency = ?2)"
        " ORDER BY sub_account, currency",
        (sub_account, currency),
    ).fetchall()
    return [
        LedgerBalance(
            sub_account=row[0],
            currency=row[1],
            available=Decimal(row[2]),
            reserved=Decimal(row[3]),
            settled=Decimal(row[4]),
        )
        for row in rows
    ]


def paid_before(conn: sqlite3.Connection, sub_account: str, address: str) -> bool:
    """Whether a SETTLED entry of the sub-account was reserved for `address`."""
    row = conn.execute(
        "SELECT 1 FROM recipients r JOIN entries e ON e.key = r.key"
        " WHERE r.address = ? AND e.sub_account = ? AND e.state = ? LIMIT 1",
        (address, sub_account, EntryState.SETTLED.value),
    ).fetchone()
    return row is not None


def record(conn: sqlite3.Connection, key: str) -> LedgerRecord | None:
    row = conn.execute(f"{_RECORD} WHERE e.key = ?", (key,)).fetchone()
    return None if row is None else _record(row)


def records_under(conn: sqlite3.Connection, prefix: str, limit: int) -> list[LedgerRecord]:
    """Up to `limit` entries whose key starts with `prefix`, in the numeric order of what
    follows it (item 2 before item 10)."""
    rows = conn.execute(
        f"{_RECORD} WHERE e.key >= ? AND e.key < ? ORDER BY length(e.key), e.key LIMIT ?",
        (*_key_range(prefix), limit),
    ).fetchall()
    return [_record(row) for row in rows]


def reserved_under(conn: sqlite3.Connection, prefix: str) -> list[LedgerRecord]:
    """Every entry whose key starts with `prefix` and that is still RESERVED."""
    rows = conn.execute(
        f"{_RECORD} WHERE e.key >= ? AND e.key < ? AND e.state = ?",
        (*_key_range(prefix), EntryState.RESERVED.value),
    ).fetchall()
    return [_record(row) for row in rows]


def totals_under(conn: sqlite3.Connection, prefix: str) -> list[EntryTotal]:
    """Entries whose key starts with `prefix`, counted and summed per state."""
    rows = conn.execute(
        "SELECT state, currency, amount FROM entries WHERE key >= ? AND key < ?",
        _key_range(prefix),
    )
    return _totals(rows)


def records_of_account(
    conn: sqlite3.Connection, sub_account: str, currency: str | None, limit: int
) -> list[LedgerRecord]:
    """The sub-account's most recently moved entries first."""
    rows = conn.execute(
        f"{_RECORD} WHERE e.sub_account = ?1 AND (?2 IS NULL OR e.currency = ?2)"
        " ORDER BY e.updated_at DESC, e.key LIMIT ?3",
        (sub_account, currency, limit),
    ).fetchall()
    return [_record(row) for row in rows]


def totals_of_account(
    conn: sqlite3.Connection, sub_account: str, currency: str | None
) -> list[EntryTotal]:
    rows = conn.execute(
        "SELECT state, currency, amount FROM entries"
        " WHERE sub_account = ?1 AND (?2 IS NULL OR currency = ?2)",
        (sub_account, currency),
    )
    return _totals(rows)


def _key_range(prefix: str) -> tuple[str, str]:
    # Keys starting with `prefix` sort from `prefix` up to (not including) the prefix whose last
    # character is the next one: a range the primary key's index answers (LIKE would not).
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _totals(rows: sqlite3.Cursor) -> list[EntryTotal]:
    """Count and sum (state, currency, amount) rows per state and currency."""
    counts: defaultdict[tuple[str, str | None], int] = defaultdict(int)
    amounts: defaultdict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    with decimal.localcontext(EXACT):
        for state, currency, amount in rows:
            counts[state, currency] += 1
            amounts[state, currency] += Decimal(amount)
    totals = [
        EntryTotal(
            state=EntryState(state), currency=currency, count=count, amount=amounts[state, currency]
        )
        for (state, currency), count in counts.items()
    ]
    order = list(EntryState)
    return sorted(totals, key=lambda total: (order.index(total.state), total.currency or ""))


def _record(row: tuple[str, ...]) -> LedgerRecord:
    """An entry's row (`tables.entry_of`) followed by its reservation time."""
    reserved_at = None if row[9] is None else datetime.fromisoformat(row[9])
    return LedgerRecord(**dict(tables.entry_of(row[:9])), reserved_at=reserved_at)
