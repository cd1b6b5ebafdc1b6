"""What operators read from the PostgreSQL ledger (as `sqlite_queries` for the SQLite one): every
balance, and entries by key, by key prefix (a mass payout's items) or by sub-account. Read-only.
"""

from __future__ import annotations

from typing import Any

from activities.ledger import postgres_tables as tables
from activities.ledger.models import EntryState, EntryTotal, LedgerBalance, LedgerRecord
from activities.ledger.postgres_tables import ENTRY_COLUMNS, Conn

_RECORD = f"SELECT {ENTRY_COLUMNS}, reserved_at FROM ledger_entries"  # noqa: S608 - constants
_TOTALS = "SELECT state, currency, count(*), sum(amount) FROM ledger_entries"


async def balances(
    conn: Conn, sub_account: str | None, currency: str | None
) -> list[LedgerBalance]:
    cursor = await conn.execute(
        "SELECT sub_account, currency, available, reserved, settled FROM ledger_balances"
        " WHERE (%(a)s::text IS NULL OR sub_account = %(a)s)"
        " AND (%(c)s::text IS NULL OR currency = %(c)s) ORDER BY sub_account, currency",
        {"a": sub_account, "c": currency},
    )
    return [
        LedgerBalance(
            sub_account=row[0],
            currency=row[1],
            available=row[2],
            reserved=row[3],
            settled=row[4],
        )
        for row in await cursor.fetchall()
    ]


async def paid_before(conn: Conn, sub_account: str, address: str) -> bool:
    """Whether a SETTLED entry of the sub-account was reserved for `address`."""
    cursor = await conn.execute(
        "SELECT 1 FROM ledger_entries WHERE sub_account = %s AND address = %s AND state = %s"
        " LIMIT 1",
        (sub_account, address, EntryState.SETTLED.value),
    )
    return await cursor.fetchone() is not None


async def record(conn: Conn, key: str) -> LedgerRecord | None:
    cursor = await conn.execute(f"{_RECORD} WHERE key = %s", (key,))
    row = await cursor.fetchone()
    return None if row is None else _record(row)


async def records_under(conn: Conn, prefix: str, limit: int) -> list[LedgerRecord]:
    """Up to `limit` entries whose key starts with `prefix`, item 2 before item 10."""
    cursor = await conn.execute(
        f"{_RECORD} WHERE key >= %s AND key < %s ORDER BY length(key), key LIMIT %s",
        (*_key_range(prefix), limit),
    )
    return [_record(row) for row in await cursor.fetchall()]


async def reserved_under(conn: Conn, prefix: str) -> list[LedgerRecord]:
    cursor = await conn.execute(
        f"{_RECORD} WHERE key >= %s AND key < %s AND state = %s ORDER BY length(key), key",
        (*_key_range(prefix), EntryState.RESERVED.value),
    )
    return [_record(row) for row in await cursor.fetchall()]


async def totals_under(conn: Conn, prefix: str) -> list[EntryTotal]:
    cursor = await conn.execute(
        f"{_TOTALS} WHERE key >= %s AND key < %s GROUP BY state, currency", _key_range(prefix)
    )
    return _totals(await cursor.fetchall())


async def records_of_account(
    conn: Conn, sub_account: str, currency: str | None, limit: int
) -> list[LedgerRecord]:
    """The sub-account's most recently moved entries first."""
    cursor = await conn.execute(
        f"{_RECORD} WHERE sub_account = %(a)s AND (%(c)s::text IS NULL OR currency = %(c)s)"
        " ORDER BY updated_at DESC, key LIMIT %(n)s",
        {"a": sub_account, "c": currency, "n": limit},
    )
    return [_record(row) for row in await cursor.fetchall()]


async def totals_of_account(conn: Conn, sub_account: str, currency: str | None) -> list[EntryTotal]:
    cursor = await conn.execute(
        f"{_TOTALS} WHERE sub_account = %(a)s AND (%(c)s::text IS NULL OR currency = %(c)s)"
        " GROUP BY state, currency",
        {"a": sub_account, "c": currency},
    )
    return _totals(await cursor.fetchall())


def _key_range(prefix: str) -> tuple[str, str]:
    # In byte order (the columns are COLLATE "C"), as on SQLite.
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _totals(rows: list[tuple[Any, ...]]) -> list[EntryTotal]:
    totals = [
        EntryTotal(state=EntryState(state), currency=currency, count=count, amount=amount)
        for state, currency, count, amount in rows
    ]
    order = list(EntryState)
    return sorted(totals, key=lambda total: (order.index(total.state), total.currency or ""))


def _record(row: tuple[Any, ...]) -> LedgerRecord:
    """An entry's row (`tables.entry_of`) followed by its reservation time."""
    return LedgerRecord(**dict(tables.entry_of(row[:9])), reserved_at=row[9])
