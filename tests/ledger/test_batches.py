"""Many items at once (a mass payout's): idempotent per item, atomic on the SQLite and
PostgreSQL ledgers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from activities.ledger import (
    EntryState,
    InsufficientLedgerFundsError,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
)
from tests.ledger.conftest import LOOP, Books, LedgerUnderTest

pytestmark = LOOP


def reserve(key: str, amount: str) -> ReserveRequest:
    return ReserveRequest(key=key, sub_account="game", currency="ETH", amount=Decimal(amount))


async def test_batch_moves_each_item_and_repeats_safely(under_test: LedgerUnderTest) -> None:
    await under_test.books.fund("game", "ETH", Decimal(10))
    batch = [reserve(f"mass/item/{n}", "1.5") for n in range(4)]
    first = await under_test.ledger.apply_many(batch)
    again = await under_test.ledger.apply_many(batch)
    assert [e.state for e in first] == [EntryState.RESERVED] * 4
    assert [e.key for e in again] == [e.key for e in first]
    assert (await under_test.books.balance("game", "ETH")).reserved == Decimal(6)

    outcome = await under_test.ledger.apply_many(
        [
            SettleRequest(key="mass/item/0", paid_amount=Decimal("1.5"), fee=Decimal("0.01")),
            ReleaseRequest(key="mass/item/1", reason="network rejected the transaction"),
        ]
    )
    assert [e.state for e in outcome] == [EntryState.SETTLED, EntryState.RELEASED]
    balance = await under_test.books.balance("game", "ETH")
    assert balance.reserved == Decimal(3)
    assert balance.available == Decimal(10) - Decimal(3) - Decimal("1.51")


async def test_sqlite_batch_is_all_or_nothing(books: Books) -> None:
    await books.fund("game", "ETH", Decimal(2))
    with pytest.raises(InsufficientLedgerFundsError):
        await books.apply_many([reserve("a", "1"), reserve("b", "1"), reserve("c", "1")])
    assert await books.entry("a") is None  # the first two rolled back with the third
    assert (await books.balance("game", "ETH")).available == Decimal(2)
