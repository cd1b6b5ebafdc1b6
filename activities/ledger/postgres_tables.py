"""The PostgreSQL ledger's tables, and the code that reads, locks and writes their rows.

The same books as the SQLite ledger (`sqlite_tables`): `balances`, `entries` (with when each was
reserved and, when the reserve named one, the recipient's `address`) and `fundings`. Amounts are
NUMERIC, which is exact at any scale and keeps it (`1.00` stays `1.00`); balance arithmetic runs
in SQL on NUMERIC, so nothing is rounded. Keys sort in
byte order (`COLLATE "C"`) whatever the database's locale, so a key prefix is a range.

Rows that a write moves are locked first (`SELECT … FOR UPDATE`), always the entry before its
balance: concurrent workers queue on a sub-account's balance row and cannot overdraw it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from activities.ledger.models import EntryState, Funding, LedgerBalance, LedgerEntry

Conn = AsyncConnection[tuple[Any, ...]]

# Only ever adds (IF NOT EXISTS): a database of an earlier version opens as is.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS ledger_balances (
        sub_account TEXT COLLATE "C" NOT NULL,
        currency    TEXT COLLATE "C" NOT NULL,
        available   NUMERIC NOT NULL,
        reserved    NUMERIC NOT NULL,
        settled     NUMERIC NOT NULL,
        PRIMARY KEY (sub_account, currency)
    )""",
    """CREATE TABLE IF NOT EXISTS ledger_entries (
        key         TEXT COLLATE "C" PRIMARY KEY,
        sub_account TEXT COLLATE "C",
        currency    TEXT COLLATE "C",
        amount      NUMERIC NOT NULL,
        state       TEXT NOT NULL,
        paid_amount NUMERIC,
        fee         NUMERIC,
        reason      TEXT,
        updated_at  TIMESTAMPTZ NOT NULL,
        reserved_at TIMESTAMPTZ
    )""",
    "CREATE INDEX IF NOT EXISTS ledger_entries_by_account"
    " ON ledger_entries (sub_account, currency, updated_at)",
    """CREATE TABLE IF NOT EXISTS ledger_fundings (
        reference   TEXT COLLATE "C" PRIMARY KEY,
        sub_account TEXT COLLATE "C" NOT NULL,
        currency    TEXT COLLATE "C" NOT NULL,
        amount      NUMERIC NOT NULL,
        funded_at   TIMESTAMPTZ NOT NULL
    )""",
)
# Added to a database of an earlier version when missing (`create_schema`), then indexed.
ADDED_COLUMNS = (("ledger_entries", "address", 'TEXT COLLATE "C"'),)
INDEXES = (
    # A spending window: one sub-account's entries in one currency reserved since an instant.
    "CREATE INDEX IF NOT EXISTS ledger_entries_by_reservation"
    " ON ledger_entries (sub_account, currency, reserved_at)",
    # Whom a sub-account has paid (`paid_before`).
    "CREATE INDEX IF NOT EXISTS ledger_entries_by_address"
    " ON ledger_entries (sub_account, address) WHERE address IS NOT NULL",
)
# Two workers starting together must not both create the tables (CREATE … IF NOT EXISTS races).
SCHEMA_LOCK = 7_135_260_810_551_200_001

ENTRY_COLUMNS = "key, sub_account, currency, amount, state, paid_amount, fee, reason, updated_at"
_BALANCE = (
    "SELECT available, reserved, settled FROM ledger_balances"
    " WHERE sub_account = %s AND currency = %s"
)
_LOCKED_BALANCE = f"{_BALANCE} FOR UPDATE"
_ENTRY = f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE key = %s"  # noqa: S608 - constants
_LOCKED_ENTRY = f"{_ENTRY} FOR UPDATE"


async def create_schema(conn: Conn) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for statement in SCHEMA:
            await conn.execute(statement)
        for table, column, kind in ADDED_COLUMNS:
            # Looked up first: ALTER TABLE locks the table even when the column is there.
            cursor = await conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = %s AND column_name = %s",
                (table, column),
            )
            if await cursor.fetchone() is None:
                await conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")
        for statement in INDEXES:
            await conn.execute(statement)


async def read_balance(
    conn: Conn, sub_account: str, currency: str, *, lock: bool = False
) -> LedgerBalance:
    """The balance (zeros if never funded); with `lock`, its row stays locked until commit."""
    cursor = await conn.execute(
        _LOCKED_BALANCE if lock else _BALANCE,
        (sub_account, currency),
    )
    row = await cursor.fetchone()
    available, reserved, settled = row if row else (Decimal(0),) * 3
    return LedgerBalance(
        sub_account=sub_account,
        currency=currency,
        available=available,
        reserved=reserved,
        settled=settled,
    )


async def adjust_balance(
    conn: Conn,
    sub_account: str,
    currency: str,
    *,
    available: Decimal = Decimal(0),
    reserved: Decimal = Decimal(0),
    settled: Decimal = Decimal(0),
) -> LedgerBalance:
    """Add to the balance (creating it at zero first), in one statement, exactly."""
    cursor = await conn.execute(
        "INSERT INTO ledger_balances AS b (sub_account, currency, available, reserved, settled)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (sub_account, currency) DO UPDATE SET"
        " available = b.available + excluded.available,"
        " reserved = b.reserved + excluded.reserved, settled = b.settled + excluded.settled"
        " RETURNING available, reserved, settled",
        (sub_account, currency, available, reserved, settled),
    )
    row = await cursor.fetchone()
    assert row is not None
    return LedgerBalance(
        sub_account=sub_account,
        currency=currency,
        available=row[0],
        reserved=row[1],
        settled=row[2],
    )


async def read_entry(conn: Conn, key: str, *, lock: bool = False) -> LedgerEntry | None:
    cursor = await conn.execute(
        _LOCKED_ENTRY if lock else _ENTRY,
        (key,),
    )
    row = await cursor.fetchone()
    return None if row is None else entry_of(row)


async def insert_entry(
    conn: Conn, entry: LedgerEntry, reserved_at: datetime | None, address: str | None = None
) -> bool:
    """Write a new entry; False (nothing written) when the key exists already."""
    cursor = await conn.execute(
        f"INSERT INTO ledger_entries ({ENTRY_COLUMNS}, reserved_at, address)"  # noqa: S608
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING"
        " RETURNING key",
        (*_values(entry), reserved_at, address),
    )
    return await cursor.fetchone() is not None


async def window_usage(conn: Conn, sub_account: str, currency: str, since: datetime) -> Decimal:
    """What the sub-account's entries in `currency` reserved after `since` count toward a
    spending window: `entry_rules.counted_in_window`, summed here in SQL on exact NUMERIC."""
    cursor = await conn.execute(
        "SELECT COALESCE(sum(CASE WHEN state = %(settled)s"
        " THEN COALESCE(paid_amount, amount) + COALESCE(fee, 0) ELSE amount END), 0)"
        " FROM ledger_entries WHERE sub_account = %(a)s AND currency = %(c)s"
        " AND reserved_at > %(since)s AND state <> %(released)s",
        {
            "a": sub_account,
            "c": currency,
            "since": since,
            "settled": EntryState.SETTLED.value,
            "released": EntryState.RELEASED.value,
        },
    )
    row = await cursor.fetchone()
    assert row is not None
    return Decimal(row[0])


async def update_entry(conn: Conn, entry: LedgerEntry) -> None:
    await conn.execute(
        "UPDATE ledger_entries SET state = %s, paid_amount = %s, fee = %s, reason = %s,"
        " updated_at = %s WHERE key = %s",
        (
            entry.state.value,
            entry.paid_amount,
            entry.fee,
            entry.reason,
            entry.updated_at,
            entry.key,
        ),
    )


async def read_funding(conn: Conn, reference: str) -> Funding | None:
    cursor = await conn.execute(
        "SELECT reference, sub_account, currency, amount, funded_at FROM ledger_fundings"
        " WHERE reference = %s",
        (reference,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return Funding(
        reference=row[0], sub_account=row[1], currency=row[2], amount=row[3], funded_at=row[4]
    )


async def insert_funding(conn: Conn, funding: Funding) -> bool:
    """Keep the funding under its reference; False when the reference is taken already."""
    cursor = await conn.execute(
        "INSERT INTO ledger_fundings (reference, sub_account, currency, amount, funded_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (reference) DO NOTHING RETURNING reference",
        (
            funding.reference,
            funding.sub_account,
            funding.currency,
            funding.amount,
            funding.funded_at,
        ),
    )
    return await cursor.fetchone() is not None


def entry_of(row: tuple[Any, ...]) -> LedgerEntry:
    return LedgerEntry(
        key=row[0],
        sub_account=row[1],
        currency=row[2],
        amount=row[3],
        state=EntryState(row[4]),
        paid_amount=row[5],
        fee=row[6],
        reason=row[7],
        updated_at=row[8],
    )


def _values(entry: LedgerEntry) -> tuple[object, ...]:
    return (
        entry.key,
        entry.sub_account,
        entry.currency,
        entry.amount,
        entry.state.value,
        entry.paid_amount,
        entry.fee,
        entry.reason,
        entry.updated_at,
    )
