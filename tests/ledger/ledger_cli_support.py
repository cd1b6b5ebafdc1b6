"""Running `payouts ledger` in this process against a real SQLite file (the console script's own
entry, `starter.cli.main._run_app`, what `main` runs before it exits), and what its tests share."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from activities.ledger import SqliteLedger
from starter.cli.main import _run_app

ROOT = Path(__file__).resolve().parents[2]
D = Decimal
SINGLE = "6f1d5d8e-6a43-4b7e-9d0e-3f0a2c1b9e57"
MASS = "0b9c2a31-6f1e-4c1b-9f0e-1a2b3c4d5e6f"
VERBS = ["balance", "fund", "entries", "release"]


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out, parse_float=Decimal)


Payouts = Callable[..., Ran]


@pytest.fixture
def books_path(tmp_path: Path) -> Path:
    return tmp_path / "books" / "ledger.sqlite3"


@pytest.fixture
def payouts(
    books_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Payouts]:
    """`payouts ARGS` in this process, with only our ledger's settings in the environment."""
    for name in list(os.environ):
        if name.startswith(("PAYOUTS_", "TEMPORAL_", "CALYPSO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PAYOUTS_HOME", str(books_path.parent.parent / "home"))
    monkeypatch.setenv("PAYOUTS_LEDGER_PATH", str(books_path))

    def run(*args: str, **environ: str) -> Ran:
        with monkeypatch.context() as patch:
            for name, value in environ.items():
                patch.setenv(name, value)
            patch.setattr(sys, "argv", ["payouts", *args])
            code = _run_app()
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    yield run


def with_books(path: Path, call: Callable[[SqliteLedger], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        books = SqliteLedger(path)
        try:
            return await call(books)
        finally:
            await books.close()

    return asyncio.run(go())


def one_line_error(ran: Ran, *fragments: str, code: int = 2) -> str:
    assert ran.code == code, (ran.code, ran.out, ran.err)
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("payouts: "), ran.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def available(path: Path, account: str = "default", currency: str = "USDT_TRX") -> Decimal:
    balance = with_books(path, lambda books: books.balance(account, currency))
    result: Decimal = balance.available
    return result
