"""The ledger in PostgreSQL, for workers on several machines (`PAYOUTS_LEDGER=postgres`).

The same semantics and operator methods as `SqliteLedger`. Each call is one READ COMMITTED
transaction on a pooled connection (psycopg 3, async); a move locks the entry's row and then the
sub-account's balance row (`SELECT … FOR UPDATE`) before it reads what it decides on, so workers
anywhere queue per sub-account and cannot overdraw it. The tables are created at first use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from activities.ledger import entry_rules
from activities.ledger import postgres_queries as queries
from activities.ledger import postgres_rules as rules
from activities.ledger import postgres_tables as tables
from activities.ledger.errors import (
    InsufficientLedgerFundsError,
    LedgerError,
    LedgerUnavailableError,
    SpendingLimitExceededError,
)
from activities.ledger.models import (
    EntryTotal,
    Funding,
    FundingResult,
    LedgerBalance,
    LedgerEntry,
    LedgerRecord,
    LedgerRequest,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
    utc_now,
)

ResultT = TypeVar("ResultT")
Operation = Callable[[tables.Conn], Awaitable[ResultT]]


class PostgresLedger:
    """A `Ledger` kept in the PostgreSQL database `dsn` names (a libpq URL or key=value string)."""

    def __init__(
        self,
        dsn: str,
        *,
        max_connections: int = 10,
        connect_timeout_seconds: float = 10.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.dsn = dsn
        self._max_connections = max_connections
        self._timeout = connect_timeout_seconds
        self._clock = clock
        self._pool: AsyncConnectionPool[tables.Conn] | None = None
        self._opening: asyncio.Lock | None = None
        self._closed = False

    async def reserve(self, request: ReserveRequest) -> LedgerEntry:
        now = self._clock()
        return await self._transaction(lambda conn: rules.reserve(conn, request, now))

    async def settle(self, request: SettleRequest) -> LedgerEntry:
        now = self._clock()
        return await self._transaction(lambda conn: rules.settle(conn, request, now))

    async def release(self, request: ReleaseRequest) -> LedgerEntry:
        now = self._clock()
        return await self._transaction(lambda conn: rules.release(conn, request, now))

    async def apply_many(self, requests: Sequence[LedgerRequest]) -> list[LedgerEntry]:
        """All in one transaction: every item happens, or (on any refusal) none does; a refusal
        for lack of funds speaks for the whole batch, as on SQLite."""
        now = self._clock()
        batch = list(requests)

        async def apply_all(conn: tables.Conn) -> list[LedgerEntry]:
            known = entry_rules.WindowUsage()  # each reserve sees the batch's earlier ones
            return [await rules.apply(conn, request, now, known) for request in batch]

        try:
            return await self._transaction(apply_all)
        except InsufficientLedgerFundsError as refused:
            error = refused
        except SpendingLimitExceededError as limited:
            hit = limited
            raise await self._transaction(
                lambda conn: rules.batch_limit_hit(conn, batch, hit, now)
            ) from None
        raise await self._transaction(
            lambda conn: rules.batch_shortfall(conn, batch, error)
        ) from None

    async def fund(self, sub_account: str, currency: str, amount: Decimal) -> LedgerBalance:
        """Credit `amount` (not keyed, so not idempotent: for operators, demos and tests)."""
        _check_credit(amount)
        return await self._transaction(
            lambda conn: tables.adjust_balance(conn, sub_account, currency, available=amount)
        )

    async def fund_once(
        self, reference: str, sub_account: str, currency: str, amount: Decimal
    ) -> FundingResult:
        """Credit `amount` once per `reference` (see `SqliteLedger.fund_once`)."""
        _check_credit(amount)
        funding = Funding(
            reference=reference,
            sub_account=sub_account,
            currency=currency,
            amount=amount,
            funded_at=self._clock(),
        )
        return await self._transaction(lambda conn: rules.fund_once(conn, funding))

    async def balance(self, sub_account: str, currency: str) -> LedgerBalance:
        return await self._transaction(
            lambda conn: tables.read_balance(conn, sub_account, currency)
        )

    async def balances(
        self, sub_account: str | None = None, currency: str | None = None
    ) -> list[LedgerBalance]:
        return await self._transaction(lambda conn: queries.balances(conn, sub_account, currency))

    async def usage(self, sub_account: str, currency: str, window_seconds: int) -> Decimal:
        """What the sub-account's entries in `currency` reserved within the last
        `window_seconds` count toward a spending limit (see `SqliteLedger.usage`)."""
        since = entry_rules.window_start(self._clock(), entry_rules.check_window(window_seconds))
        return await self._transaction(
            lambda conn: tables.window_usage(conn, sub_account, currency, since)
        )

    async def paid_before(self, sub_account: str, address: str) -> bool:
        """Whether the sub-account has a SETTLED entry whose reserve named `address`."""
        return await self._transaction(lambda conn: queries.paid_before(conn, sub_account, address))

    async def entry(self, key: str) -> LedgerEntry | None:
        return await self._transaction(lambda conn: tables.read_entry(conn, key))

    async def record(self, key: str) -> LedgerRecord | None:
        return await self._transaction(lambda conn: queries.record(conn, key))

    async def records_under(
        self, prefix: str, limit: int
    ) -> tuple[list[EntryTotal], list[LedgerRecord]]:
        async def both(conn: tables.Conn) -> tuple[list[EntryTotal], list[LedgerRecord]]:
            return await queries.totals_under(conn, prefix), await queries.records_under(
                conn, prefix, limit
            )

        return await self._transaction(both)

    async def reserved_under(self, prefix: str) -> list[LedgerRecord]:
        return await self._transaction(lambda conn: queries.reserved_under(conn, prefix))

    async def records_of_account(
        self, sub_account: str, currency: str | None, limit: int
    ) -> tuple[list[EntryTotal], list[LedgerRecord]]:
        async def both(conn: tables.Conn) -> tuple[list[EntryTotal], list[LedgerRecord]]:
            totals = await queries.totals_of_account(conn, sub_account, currency)
            return totals, await queries.records_of_account(conn, sub_account, currency, limit)

        return await self._transaction(both)

    async def close(self) -> None:
        self._closed = True
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _transaction(self, operation: Operation[ResultT]) -> ResultT:
        try:
            pool = await self._open()
            async with pool.connection() as conn, conn.transaction():
                return await operation(conn)
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            # Unreachable, restarting, a deadlock or a lock timeout: a moment later can fix it,
            # and every call is idempotent, so let Temporal retry rather than fail the payout.
            raise LedgerUnavailableError(f"ledger database: {_one_line(exc)}") from exc
        except ArithmeticError as exc:
            raise LedgerError(f"amount beyond exact arithmetic: {exc!r}") from exc

    async def _open(self) -> AsyncConnectionPool[tables.Conn]:
        if self._closed:
            # Retryable on purpose: an activity caught by a worker shutdown runs again elsewhere.
            raise LedgerUnavailableError("the postgres ledger is closed")
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                pool: AsyncConnectionPool[tables.Conn] = AsyncConnectionPool(
                    self.dsn,
                    min_size=1,
                    max_size=self._max_connections,
                    timeout=self._timeout,
                    kwargs={"connect_timeout": max(1, int(self._timeout))},
                    configure=_configure,
                    open=False,
                )
                try:
                    await pool.open(wait=True, timeout=self._timeout)
                    async with pool.connection() as conn:
                        await tables.create_schema(conn)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
            return self._pool


async def _configure(conn: tables.Conn) -> None:
    await conn.execute("SET TIME ZONE 'UTC'")
    await conn.commit()


def _check_credit(amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValueError(f"fund needs a positive, finite Decimal amount, got {amount!r}")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
