"""Where `payouts ledger` finds the books: the SQLite file PAYOUTS_LEDGER_PATH names, or the
PostgreSQL database of PAYOUTS_LEDGER_DSN. With PAYOUTS_LEDGER=http or none they live elsewhere."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from activities.ledger import LedgerUnavailableError, PostgresLedger, SqliteLedger
from starter.cli.common import CliError
from starter.service.settings import Settings, SettingsError

Books = SqliteLedger | PostgresLedger
ResultT = TypeVar("ResultT")
ELSEWHERE = {
    "http": "the merchant's backend keeps the books (PAYOUTS_LEDGER_URL); fund and inspect there",
    "none": "no books are kept here; the money is tracked elsewhere",
}


@dataclass(frozen=True)
class BooksAt:
    """The operator's books: a SQLite file (`path`) or a PostgreSQL database (`dsn`)."""

    path: Path | None = None
    dsn: str | None = None

    def exists(self) -> bool:
        """Whether there is anything to read (a database always is; a file once funded)."""
        return self.path is None or self.path.exists()

    @property
    def name(self) -> str:
        return str(self.path) if self.path is not None else "postgres (PAYOUTS_LEDGER_DSN)"

    def open(self) -> Books:
        if self.path is not None:
            return SqliteLedger(self.path)
        assert self.dsn is not None
        return PostgresLedger(self.dsn, max_connections=2)


def books_at() -> BooksAt:
    """The books the worker's settings name (`Settings.from_env`); a CliError when they live
    elsewhere."""
    try:
        settings = Settings.from_env()
    except SettingsError:
        kind = os.environ.get("PAYOUTS_LEDGER", "").strip().lower()
        if kind in ELSEWHERE:
            raise CliError(f"PAYOUTS_LEDGER={kind}: {ELSEWHERE[kind]}") from None
        raise
    if settings.ledger in ELSEWHERE:
        raise CliError(f"PAYOUTS_LEDGER={settings.ledger}: {ELSEWHERE[settings.ledger]}")
    if settings.ledger == "postgres":
        return BooksAt(dsn=settings.ledger_dsn)
    return BooksAt(path=Path(settings.ledger_path))


def with_ledger(books: BooksAt, call: Callable[[Books], Awaitable[ResultT]]) -> ResultT:
    """Run `call` on the books, opened and closed around it; unreachable books are a CliError
    (exit 1)."""

    async def go() -> ResultT:
        ledger = books.open()
        try:
            return await call(ledger)
        finally:
            await ledger.close()

    try:
        return asyncio.run(go())
    except LedgerUnavailableError as exc:
        raise CliError(str(exc), exit_code=1) from exc
