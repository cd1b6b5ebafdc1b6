"""Fixtures: the books in SQLite (tmp_path) and in PostgreSQL (a fresh database on a server the
session starts), and the same semantics reached directly or over HTTP.

One uvicorn server serves the whole package (uvicorn's shutdown alone costs ~0.2 s, paid per
server); each test plugs its own ASGI app into it. Tests and async fixtures here therefore run on
the package-scoped event loop: modules set `pytestmark = LOOP` and fixtures use `loop_scope`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from activities.ledger import HttpLedger, Ledger, PostgresLedger, SqliteLedger
from tests.ledger.loopback import serve
from tests.ledger.merchant_app import Received, ledger_backend
from tests.ledger.postgres_server import PostgresServer, postgres_server

LEDGER_SECRET = "ledger-secret"
LOOP = pytest.mark.asyncio(loop_scope="package")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# The books an operator funds and reads: both adapters offer the same methods.
Books = SqliteLedger | PostgresLedger


class Switchboard:
    """An ASGI app that forwards to whichever app the running test plugged in."""

    def __init__(self) -> None:
        self.url = ""
        self.app: AsgiApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no app plugged in"
        await self.app(scope, receive, send)

    def plug(self, app: AsgiApp) -> str:
        self.app = app
        return self.url


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def switchboard() -> AsyncIterator[Switchboard]:
    board = Switchboard()
    async with serve(board) as url:
        board.url = url
        yield board


@dataclass
class LedgerUnderTest:
    """`ledger` is what the saga would call; `books` is where its money is kept and inspected."""

    ledger: Ledger
    books: Books
    received: list[Received] = field(default_factory=list)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest_asyncio.fixture(loop_scope="package", params=["sqlite", "postgres"])
async def books(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Books]:
    ledger: Books
    if request.param == "sqlite":
        ledger = SqliteLedger(tmp_path / "books" / "ledger.sqlite3")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        ledger = PostgresLedger(server.new_database(), max_connections=4)
    yield ledger
    await ledger.close()


@pytest_asyncio.fixture(loop_scope="package", params=["direct", "http"])
async def under_test(
    request: pytest.FixtureRequest, books: Books, switchboard: Switchboard
) -> AsyncIterator[LedgerUnderTest]:
    if request.param == "direct":
        yield LedgerUnderTest(ledger=books, books=books)
        return
    received: list[Received] = []
    url = switchboard.plug(ledger_backend(books, LEDGER_SECRET, received))
    ledger = HttpLedger(url, LEDGER_SECRET)
    try:
        yield LedgerUnderTest(ledger=ledger, books=books, received=received)
    finally:
        await ledger.close()
