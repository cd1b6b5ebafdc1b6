"""`payouts ledger` on the PostgreSQL books (PAYOUTS_LEDGER=postgres): the same verbs, the same
output, and one line when PAYOUTS_LEDGER_DSN is missing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from activities.ledger import PostgresLedger, ReserveRequest
from tests.ledger import ledger_cli_support
from tests.ledger.ledger_cli_support import SINGLE, Payouts, one_line_error
from tests.ledger.postgres_server import PostgresServer

D = Decimal
books_path = ledger_cli_support.books_path
payouts = ledger_cli_support.payouts


def test_fund_balance_and_entries_on_postgres(payouts: Payouts, postgres: PostgresServer) -> None:
    dsn = postgres.new_database()
    pg = {"PAYOUTS_LEDGER": "postgres", "PAYOUTS_LEDGER_DSN": dsn}
    first = payouts("ledger", "fund", "default", "USDT_TRX", "100", "--reference", "w-1", **pg)
    assert first.code == 0, first.err
    again = payouts("ledger", "fund", "default", "USDT_TRX", "100.00", "--reference", "w-1", **pg)
    assert again.code == 0 and "not funded again" in again.out, again

    async def reserve() -> None:
        ledger = PostgresLedger(dsn)
        try:
            await ledger.reserve(
                ReserveRequest(
                    key=SINGLE, sub_account="default", currency="USDT_TRX", amount=D("25.50")
                )
            )
        finally:
            await ledger.close()

    asyncio.run(reserve())
    balance = payouts("ledger", "balance", "--json", **pg).json()
    [row] = balance["balances"]
    assert (row["available"], row["reserved"]) == (D("74.50"), D("25.50"))
    assert "postgres" in balance["ledger"]
    entries = payouts("ledger", "entries", SINGLE, "--json", **pg)
    assert entries.code == 0, entries.err
    [entry] = entries.json()["entries"]
    assert entry["state"] == "RESERVED" and entry["saga"] == f"payout-{SINGLE}"


def test_postgres_without_a_dsn_is_one_line(payouts: Payouts) -> None:
    ran = payouts("ledger", "balance", PAYOUTS_LEDGER="postgres")
    one_line_error(ran, "PAYOUTS_LEDGER_DSN", "required")
