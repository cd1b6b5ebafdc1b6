"""What only the PostgreSQL ledger promises (the shared semantics run in test_ledger_semantics,
test_batches and test_ledger_books against it too): workers in several processes cannot overdraw
a sub-account, the schema is created at start, exact NUMERIC amounts, retryable outages, and the
settings that choose it."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from activities.ledger import (
    EntryState,
    LedgerStateError,
    LedgerUnavailableError,
    PostgresLedger,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
    ledger_from_settings,
)
from activities.ledger.settings import LedgerSettingError
from starter.service.settings import Settings, SettingsError
from tests.ledger.conftest import LOOP
from tests.ledger.postgres_race import RACE_ACCOUNT, RaceOutcome, reserve_many
from tests.ledger.postgres_server import PostgresServer

pytestmark = LOOP
D = Decimal
PROCESSES, PER_PROCESS, FUNDED = 4, 500, 1000


def reserve(key: str, amount: str, account: str = "acme") -> ReserveRequest:
    return ReserveRequest(key=key, sub_account=account, currency="USDT", amount=D(amount))


async def test_four_processes_cannot_overdraw_one_sub_account(postgres: PostgresServer) -> None:
    dsn = postgres.new_database()
    books = PostgresLedger(dsn)
    try:
        await books.fund_once("race-funding", *RACE_ACCOUNT, D(FUNDED))
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(
            PROCESSES, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            outcomes: list[RaceOutcome] = await asyncio.gather(
                *(
                    loop.run_in_executor(pool, reserve_many, dsn, worker, PER_PROCESS)
                    for worker in range(PROCESSES)
                )
            )
        assert [o.other_errors for o in outcomes] == [[]] * PROCESSES
        assert all(o.refusals_clean for o in outcomes)
        reserved = sum(o.reserved for o in outcomes)
        refused = sum(o.refused for o in outcomes)
        assert (reserved, refused) == (FUNDED, PROCESSES * PER_PROCESS - FUNDED)
        balance = await books.balance(*RACE_ACCOUNT)
        assert (balance.available, balance.reserved, balance.settled) == (D(0), D(FUNDED), D(0))
        totals, _ = await books.records_of_account(RACE_ACCOUNT[0], RACE_ACCOUNT[1], 1)
        assert [(t.state, t.count, t.amount) for t in totals] == [
            (EntryState.RESERVED, FUNDED, D(FUNDED))
        ]
    finally:
        await books.close()


async def test_the_same_key_racing_itself_moves_money_once(postgres: PostgresServer) -> None:
    dsn = postgres.new_database()
    first, second = PostgresLedger(dsn), PostgresLedger(dsn)
    try:
        await first.fund("acme", "USDT", D(100))
        entries = await asyncio.gather(
            *((first if n % 2 else second).reserve(reserve("p-1", "30")) for n in range(10))
        )
        assert len({e.model_dump_json() for e in entries}) == 1
        ends = await asyncio.gather(
            first.settle(SettleRequest(key="p-1", paid_amount=D(30))),
            second.release(ReleaseRequest(key="p-1", reason="FAILED")),
            return_exceptions=True,
        )
        # One of them moved the money; the other found the entry moved and was refused.
        assert sum(isinstance(end, LedgerStateError) for end in ends) == 1
        balance = await second.balance("acme", "USDT")
        assert balance.reserved == D(0)
        assert balance.available + balance.settled == D(100)
    finally:
        await first.close()
        await second.close()


async def test_exact_numeric_amounts_survive_a_new_connection(postgres: PostgresServer) -> None:
    dsn = postgres.new_database()
    books = PostgresLedger(dsn)
    await books.fund("acme", "USDT", D("1000.000000000000000001"))
    await books.reserve(reserve("p-1", "0.123456789012345678"))
    await books.reserve(reserve("p-2", "1.00"))
    await books.close()
    again = PostgresLedger(dsn)
    try:
        entry = await again.entry("p-2")
        assert entry is not None and str(entry.amount) == "1.00"  # the scale is kept
        balance = await again.balance("acme", "USDT")
        assert balance.available == D("998.876543210987654323")
        assert balance.reserved == D("1.123456789012345678")
    finally:
        await again.close()


async def test_ledgers_starting_together_create_the_schema_once(postgres: PostgresServer) -> None:
    dsn = postgres.new_database()
    ledgers = [PostgresLedger(dsn) for _ in range(4)]
    try:
        balances = await asyncio.gather(*(ledger.balances() for ledger in ledgers))
        assert balances == [[]] * 4
        await ledgers[0].fund("acme", "USDT", D(1))
    finally:
        for ledger in ledgers:
            await ledger.close()
    reopened = PostgresLedger(dsn)  # the tables exist: opening again changes nothing
    try:
        assert [b.available for b in await reopened.balances()] == [D(1)]
    finally:
        await reopened.close()


async def test_an_unreachable_server_is_retryable(postgres: PostgresServer) -> None:
    ledger = PostgresLedger(
        f"postgresql://payouts@127.0.0.1:{postgres.port}/no_such_database",
        connect_timeout_seconds=2,
    )
    with pytest.raises(LedgerUnavailableError) as caught:
        await ledger.reserve(reserve("p-1", "1"))
    assert caught.value.retryable is True
    await ledger.close()


async def test_a_closed_ledger_asks_for_a_retry(postgres: PostgresServer) -> None:
    ledger = PostgresLedger(postgres.new_database())
    await ledger.close()
    with pytest.raises(LedgerUnavailableError):
        await ledger.release(ReleaseRequest(key="p-1"))


async def test_settings_choose_and_check_the_postgres_ledger(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    dsn = postgres.new_database()
    ledger = ledger_from_settings("Postgres", dsn=dsn)
    assert isinstance(ledger, PostgresLedger) and ledger.dsn == dsn
    await ledger.close()
    with pytest.raises(LedgerSettingError, match="PAYOUTS_LEDGER_DSN is required"):
        ledger_from_settings("postgres")
    base = {"PAYOUTS_HOME": str(tmp_path), "PAYOUTS_LEDGER": "postgres"}
    assert Settings.from_env({**base, "PAYOUTS_LEDGER_DSN": dsn}).ledger_dsn == dsn
    for dsn_value, says in [
        ("", "PAYOUTS_LEDGER_DSN: is required with PAYOUTS_LEDGER=postgres"),
        ("not a dsn", "PAYOUTS_LEDGER_DSN: is malformed"),
        ("postgresql://h:port/db", "PAYOUTS_LEDGER_DSN: is malformed: port"),
        ("mysql://h/db", "PAYOUTS_LEDGER_DSN: must be a postgresql:// URL"),
    ]:
        with pytest.raises(SettingsError) as refused:
            Settings.from_env({**base, "PAYOUTS_LEDGER_DSN": dsn_value})
        message = str(refused.value)
        assert message.startswith(says) and "\n" not in message
    secret = "postgresql://u:hunter2@h:99999/db"
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**base, "PAYOUTS_LEDGER_DSN": secret})
    assert "hunter2" not in str(refused.value)
