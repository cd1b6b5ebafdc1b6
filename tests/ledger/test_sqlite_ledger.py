"""What only the embedded SQLite ledger promises: a shared file, exact TEXT storage, locking."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from activities.ledger import (
    EntryState,
    InsufficientLedgerFundsError,
    Ledger,
    LedgerUnavailableError,
    ReleaseRequest,
    ReserveRequest,
    SqliteLedger,
)
from tests.ledger.conftest import LOOP

pytestmark = LOOP
D = Decimal


def reserve(key: str, amount: str) -> ReserveRequest:
    return ReserveRequest(key=key, sub_account="acme", currency="USDT", amount=D(amount))


async def test_two_workers_on_one_file_cannot_overdraw(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    first, second = SqliteLedger(path), SqliteLedger(path)
    try:
        await first.fund("acme", "USDT", D(5))
        outcomes = await asyncio.gather(
            *((first if n % 2 else second).reserve(reserve(f"p-{n}", "1")) for n in range(12)),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, InsufficientLedgerFundsError)]
        reserved = [o for o in outcomes if not isinstance(o, BaseException)]
        assert (len(reserved), len(refused)) == (5, 7)
        balance = await second.balance("acme", "USDT")
        assert (balance.available, balance.reserved) == (D(0), D(5))
    finally:
        await first.close()
        await second.close()


async def test_the_same_reserve_racing_itself_reserves_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    first, second = SqliteLedger(path), SqliteLedger(path)
    try:
        await first.fund("acme", "USDT", D(10))
        a, b = await asyncio.gather(
            first.reserve(reserve("p-1", "6")), second.reserve(reserve("p-1", "6"))
        )
        assert a == b
        assert (await first.balance("acme", "USDT")).available == D(4)
    finally:
        await first.close()
        await second.close()


async def test_creates_parent_directories_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "ledger.sqlite3"
    ledger: Ledger = SqliteLedger(path)  # also checks SqliteLedger satisfies the protocol
    assert not path.parent.exists()  # nothing touches the disk before the first call
    await ledger.release(ReleaseRequest(key="p-1", reason="test"))
    await ledger.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_amounts_are_stored_as_exact_text_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = SqliteLedger(path)
    await ledger.fund("acme", "USDT", D("1"))
    await ledger.reserve(reserve("p-1", "0.000000000000000001"))
    await ledger.close()
    with sqlite3.connect(path) as raw:
        stored = raw.execute("SELECT typeof(amount), amount FROM entries").fetchone()
    assert stored == ("text", "0.000000000000000001")
    reopened = SqliteLedger(path)
    try:
        entry = await reopened.entry("p-1")
        assert entry is not None and entry.state is EntryState.RESERVED
        assert (await reopened.balance("acme", "USDT")).available == D("0.999999999999999999")
        assert await reopened.entry("unknown") is None
    finally:
        await reopened.close()


async def test_a_database_locked_too_long_is_retryable(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = SqliteLedger(path, busy_timeout_seconds=0.05)
    await ledger.fund("acme", "USDT", D(1))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another worker holding the write lock
    try:
        with pytest.raises(LedgerUnavailableError) as caught:
            await ledger.reserve(reserve("p-1", "1"))
        assert caught.value.retryable is True
        assert "locked" in str(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (await ledger.reserve(reserve("p-1", "1"))).state is EntryState.RESERVED  # the retry
    await ledger.close()


async def test_a_closed_ledger_asks_for_a_retry(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    await ledger.close()
    with pytest.raises(LedgerUnavailableError):
        await ledger.reserve(reserve("p-1", "1"))


@pytest.mark.parametrize("amount", [D(0), D(-1), D("NaN"), 1.5])
async def test_fund_takes_only_positive_decimals(tmp_path: Path, amount: object) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    with pytest.raises(ValueError, match="positive"):
        await ledger.fund("acme", "USDT", amount)  # type: ignore[arg-type]
    await ledger.close()


async def test_an_unwritable_location_is_retryable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the ledger's directory should be")
    ledger = SqliteLedger(blocker / "ledger.sqlite3")
    with pytest.raises(LedgerUnavailableError, match="not-a-directory"):
        await ledger.release(ReleaseRequest(key="p-1"))
    await ledger.close()
