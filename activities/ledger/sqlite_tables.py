"""The ledger's SQLite tables, and the code that reads and writes their rows one at a time
(`sqlite_queries` lists them for operators).

`balances` and `entries` are the books; `fundings` (credits kept by the operator's reference),
`reservation_times` (when each entry was reserved) and `recipients` (the address each entry pays,
when the reserve named one) came later. The schema only ever adds tables and indexes (`IF NOT
EXISTS`), so a file written by an older version opens as is and gains them.

Reservation times are written in UTC with microseconds (`stamp`), so that text order is time
order and a spending window is a range the `reservation_times_by_time` index answers.

Decimals are stored as TEXT so nothing is rounded on the way in or out, and balance arithmetic runs
in an exact context: a result that would need rounding raises instead of drifting by a wei.
"""

from __future__ import annotations

import decimal
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

from activities.ledger.entry_rules import EXACT, counted_in_window
from activities.ledger.models import EntryState, Funding, LedgerBalance, LedgerEntry

SCHEMA = """
CREATE TABLE IF NOT EXISTS balances (
    sub_account TEXT NOT NULL,
    currency    TEXT NOT NULL,
    available   TEXT NOT NULL,
    reserved    TEXT NOT NULL,
    settled     TEXT NOT NULL,
    PRIMARY KEY (sub_account, currency)
);
CREATE TABLE IF NOT EXISTS entries (
    key         TEXT PRIMARY KEY,
    sub_account TEXT,
    currency    TEXT,
    amount      TEXT NOT NULL,
    state       TEXT NOT NULL,
    paid_amount TEXT,
    fee         TEXT,
    reason      TEXT,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fundings (
    reference   TEXT PRIMARY KEY,
    sub_account TEXT NOT NULL,
    currency    TEXT NOT NULL,
    amount      TEXT NOT NULL,
    funded_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reservation_times (
    key         TEXT PRIMARY KEY,
    reserved_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reservation_times_by_time ON reservation_times (reserved_at);
CREATE TABLE IF NOT EXISTS recipients (
    key         TEXT PRIMARY KEY,
    address     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recipients_by_address ON recipients (address);
"""

# Far more digits than any amount needs; Inexact is trapped, so exceeding them raises.


def read_balance(conn: sqlite3.Connection, sub_account: str, currency: str) -> LedgerBalance:
    row = conn.execute(
        "SELECT available, reserved, settled FROM balances WHERE sub_account = ? AND currency = ?",
        (sub_account, currency),
    ).fetchone()
    available, reserved, settled = (Decimal(text) for text in row) if row else (Decimal(0),) * 3
    return LedgerBalance(
        sub_account=sub_account,
        currency=currency,
        available=available,
        reserved=reserved,
        settled=settled,
    )


def read_entry(conn: sqlite3.Connection, key: str) -> LedgerEntry | None:
    row = conn.execute(
        "SELECT key, sub_account, currency, amount, state, paid_amount, fee, reason, updated_at"
        " FROM entries WHERE key = ?",
        (key,),
    ).fetchone()
    return None if row is None else entry_of(row)


def entry_of(row: tuple[str, ...]) -> LedgerEntry:
    """An `entries` row (in its column order) as the entry it stores."""
    return LedgerEntry(
        key=row[0],
        sub_account=row[1],
        currency=row[2],
        amount=Decimal(row[3]),
        state=EntryState(row[4]),
        paid_amount=None if row[5] is None else Decimal(row[5]),
        fee=None if row[6] is None else Decimal(row[6]),
        reason=row[7],
        updated_at=datetime.fromisoformat(row[8]),
    )


def adjust_balance(
    conn: sqlite3.Connection,
    balance: LedgerBalance,
    *,
    available: Decimal = Decimal(0),
    reserved: Decimal = Decimal(0),
    settled: Decimal = Decimal(0),
) -> LedgerBalance:
    with decimal.localcontext(EXACT):
        updated = balance.model_copy(
            update={
                "available": balance.available + available,
                "reserved": balance.reserved + reserved,
                "settled": balance.settled + settled,
            }
        )
    conn.execute(
        "INSERT INTO balances (sub_account, currency, available, reserved, settled)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (sub_account, currency) DO UPDATE SET"
        " available = excluded.available, reserved = excluded.reserved,"
        " settled = excluded.settled",
        (
            updated.sub_account,
            updated.currency,
            _text(updated.available),
            _text(updated.reserved),
            _text(updated.settled),
        ),
    )
    return updated


def write_entry(conn: sqlite3.Connection, entry: LedgerEntry) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO entries"
        " (key, sub_account, currency, amount, state, paid_amount, fee, reason, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.key,
            entry.sub_account,
            entry.currency,
            _text(entry.amount),
            entry.state.value,
            None if entry.paid_amount is None else _text(entry.paid_amount),
            None if entry.fee is None else _text(entry.fee),
            entry.reason,
            entry.updated_at.isoformat(),
        ),
    )


def note_reserved(conn: sqlite3.Connection, key: str, at: datetime) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO reservation_times (key, reserved_at) VALUES (?, ?)",
        (key, stamp(at)),
    )


def note_recipient(conn: sqlite3.Connection, key: str, address: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO recipients (key, address) VALUES (?, ?)",
        (key, address),
    )


def window_usage(
    conn: sqlite3.Connection, sub_account: str, currency: str, since: datetime
) -> Decimal:
    """What the sub-account's entries in `currency` reserved after `since` count toward a
    spending window (`entry_rules.counted_in_window`), summed exactly. An entry written before
    reservation times were kept has none, and counts in no window."""
    rows = conn.execute(
        "SELECT e.state, e.amount, e.paid_amount, e.fee"
        " FROM reservation_times r JOIN entries e ON e.key = r.key"
        " WHERE r.reserved_at > ? AND e.sub_account = ? AND e.currency = ? AND e.state != ?",
        (stamp(since), sub_account, currency, EntryState.RELEASED.value),
    )
    total = Decimal(0)
    with decimal.localcontext(EXACT):
        for state, amount, paid_amount, fee in rows:
            total += counted_in_window(
                EntryState(state),
                Decimal(amount),
                None if paid_amount is None else Decimal(paid_amount),
                None if fee is None else Decimal(fee),
            )
    return total


def stamp(at: datetime) -> str:
    """An instant as stored: UTC, always with microseconds, so text order is time order."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def read_funding(conn: sqlite3.Connection, reference: str) -> Funding | None:
    row = conn.execute(
        "SELECT reference, sub_account, currency, amount, funded_at FROM fundings"
        " WHERE reference = ?",
        (reference,),
    ).fetchone()
    if row is None:
        return None
    return Funding(
        reference=row[0],
        sub_account=row[1],
        currency=row[2],
        amount=Decimal(row[3]),
        funded_at=datetime.fromisoformat(row[4]),
    )


def write_funding(conn: sqlite3.Connection, funding: Funding) -> None:
    conn.execute(
        "INSERT INTO fundings (reference, sub_account, currency, amount, funded_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            funding.reference,
            funding.sub_account,
            funding.currency,
            _text(funding.amount),
            funding.funded_at.isoformat(),
        ),
    )


def _text(amount: Decimal) -> str:
    # Plain notation ("0.000000000000000001", not "1E-18") so the file reads well in sqlite3.
    return format(amount, "f")
