"""The embedded default ledger: one SQLite file, safe to share between worker processes.

Each operation is one `BEGIN IMMEDIATE` transaction: the write lock is taken before the balance is
read, so two workers cannot both see the same available balance and overdraw it. WAL mode lets
readers carry on meanwhile. sqlite3 blocks, so every call runs in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from activities.ledger import entry_rules
from activities.ledger import sqlite_queries as queries
from activities.ledger import sqlite_rules as rules
from activities.ledger import sqlite_tables as tables
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
from activities.sqlite_file import SqliteFile

ResultT = TypeVar("ResultT")
Operation = Callable[[sqlite3.Connection], ResultT]


class SqliteLedger:
    """A `Ledger` kept in the SQLite file at `path` (parent directories are created)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout_seconds: float = 5.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._file = SqliteFile(
            self.path,
            tables.SCHEMA,
            name="ledger database",
            unavailable=LedgerUnavailableError,
            busy_timeout_seconds=busy_timeout_seconds,
            durable=True,  # money: a commit survives power loss
        )

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
        """All in one transaction: every item happens, or (on any refusal) none does. A refusal
        for lack of funds speaks for the whole batch: what its new reservations need together,
        and what is available to them once it rolled back."""
        now = self._clock()

        def apply_all(conn: sqlite3.Connection) -> list[LedgerEntry]:
            known = entry_rules.WindowUsage()  # each reserve sees the batch's earlier ones
            return [rules.apply(conn, request, now, known) for request in requests]

        try:
            return await self._transaction(apply_all)
        except InsufficientLedgerFundsError as refused:
            raise await self._batch_shortfall(list(requests), refused) from None
        except SpendingLimitExceededError as limited:
            hit = limited
        raise await self._transaction(
            lambda conn: rules.batch_limit_hit(conn, list(requests), hit, now), write=False
        ) from None

    async def _batch_shortfall(
        self, requests: list[LedgerRequest], refused: InsufficientLedgerFundsError
    ) -> InsufficientLedgerFundsError:
        return await self._transaction(
            lambda conn: rules.batch_shortfall(conn, requests, refused), write=False
        )

    async def fund(self, sub_account: str, currency: str, amount: Decimal) -> LedgerBalance:
        """Credit `amount` to the sub-account's available balance.

        Not keyed, so not idempotent: it is for operators, demos and tests, not for activities.
        """
        _check_credit(amount)
        return await self._transaction(lambda conn: rules.fund(conn, sub_account, currency, amount))

    async def fund_once(
        self, reference: str, sub_account: str, currency: str, amount: Decimal
    ) -> FundingResult:
        """Credit `amount` once per `reference`: the same funding again moves nothing
        (`new=False`); a different one under a used reference raises `LedgerConflictError`."""
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
            lambda conn: tables.read_balance(conn, sub_account, currency), write=False
        )

    async def balances(
        self, sub_account: str | None = None, currency: str | None = None
    ) -> list[LedgerBalance]:
        """Every sub-account and currency with a balance, or those the filters name."""
        return await self._transaction(
            lambda conn: queries.balances(conn, sub_account, currency), write=False
        )

    async def usage(self, sub_account: str, currency: str, window_seconds: int) -> Decimal:
        """What the sub-account's entries in `currency` reserved within the last
        `window_seconds` count toward a spending limit (docs/ledger.md, "Spending limits")."""
        since = entry_rules.window_start(self._clock(), entry_rules.check_window(window_seconds))
        return await self._transaction(
            lambda conn: tables.window_usage(conn, sub_account, currency, since), write=False
        )

    async def paid_before(self, sub_account: str, address: str) -> bool:
        """Whether the sub-account has a SETTLED entry whose reserve named `address` (in any
        currency; addresses compare exactly)."""
        return await self._transaction(
            lambda conn: queries.paid_before(conn, sub_account, address), write=False
        )

    async def entry(self, key: str) -> LedgerEntry | None:
        return await self._transaction(lambda conn: tables.read_entry(conn, key), write=False)

    async def record(self, key: str) -> LedgerRecord | None:
        """The entry `key` with when it was reserved."""
        return await self._transaction(lambda conn: queries.record(conn, key), write=False)

    async def records_under(
        self, prefix: str, limit: int
    ) -> tuple[list[EntryTotal], list[LedgerRecord]]:
        """Entries whose key starts with `prefix` (a mass payout's `<key>/item/`): totals per
        state over all of them, and the first `limit` in item order."""
        return await self._transaction(
            lambda conn: (
                queries.totals_under(conn, prefix),
                queries.records_under(conn, prefix, limit),
            ),
            write=False,
        )

    async def reserved_under(self, prefix: str) -> list[LedgerRecord]:
        """Every entry under `prefix` still RESERVED (what an operator may release)."""
        return await self._transaction(
            lambda conn: queries.reserved_under(conn, prefix), write=False
        )

    async def records_of_account(
        self, sub_account: str, currency: str | None, limit: int
    ) -> tuple[list[EntryTotal], list[LedgerRecord]]:
        """A sub-account's entries: totals per state, and the `limit` most recently moved."""
        return await self._transaction(
            lambda conn: (
                queries.totals_of_account(conn, sub_account, currency),
                queries.records_of_account(conn, sub_account, currency, limit),
            ),
            write=False,
        )

    async def close(self) -> None:
        await self._file.close()

    async def _transaction(self, operation: Operation[ResultT], *, write: bool = True) -> ResultT:
        try:
            return await self._file.run(operation, write=write)
        except ArithmeticError as exc:
            raise LedgerError(f"amount beyond exact arithmetic: {exc!r}") from exc


def _check_credit(amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValueError(f"fund needs a positive, finite Decimal amount, got {amount!r}")
