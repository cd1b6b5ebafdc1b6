"""Spending limits checked in the reservation's own transaction, and recipient history, on the
SQLite and PostgreSQL ledgers (docs/ledger.md, "Spending limits"); what the HTTP and none
ledgers say instead; the refusal's way through the activity boundary into the workflow."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from pydantic import ValidationError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from activities.boundary import as_application_errors
from activities.ledger import (
    EntryState,
    HttpLedger,
    InsufficientLedgerFundsError,
    LedgerInsights,
    LedgerRequest,
    LedgerUnsupportedError,
    NoLedger,
    PostgresLedger,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
    SpendingLimit,
    SpendingLimitExceededError,
    SqliteLedger,
    limit_of,
    shortfall_of,
)
from activities.ledger.postgres_tables import SCHEMA
from tests.ledger.conftest import LEDGER_SECRET, LOOP, Books, Switchboard
from tests.ledger.limit_race import (
    DAY,
    LIMITED_ACCOUNT,
    LimitRaceOutcome,
    reserve_many,
    reserve_many_postgres,
)
from tests.ledger.loopback import refusing_url
from tests.ledger.merchant_app import Received, ledger_backend
from tests.ledger.postgres_server import PostgresServer

pytestmark = LOOP
D = Decimal
START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ACCOUNT, CURRENCY = "treasury", "USDT_TRX"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Clocked:
    books: Books
    clock: Clock


@pytest_asyncio.fixture(loop_scope="package", params=["sqlite", "postgres"])
async def clocked(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Clocked]:
    clock = Clock()
    books: Books
    if request.param == "sqlite":
        books = SqliteLedger(tmp_path / "ledger.sqlite3", clock=clock)
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        books = PostgresLedger(server.new_database(), max_connections=4, clock=clock)
    await books.fund(ACCOUNT, CURRENCY, D(100_000))
    yield Clocked(books, clock)
    await books.close()


def limit(max_amount: str, window_seconds: int = DAY, name: str | None = "24h") -> SpendingLimit:
    return SpendingLimit(name=name, window_seconds=window_seconds, max_amount=D(max_amount))


def reserve(
    key: str,
    amount: str,
    *limits: SpendingLimit,
    address: str | None = None,
    account: str = ACCOUNT,
    currency: str = CURRENCY,
) -> ReserveRequest:
    return ReserveRequest(
        key=key,
        sub_account=account,
        currency=currency,
        amount=D(amount),
        limits=list(limits),
        address=address,
    )


# --- the requests ---------------------------------------------------------------------------


async def test_a_request_recorded_before_limits_still_reads() -> None:
    old = {"key": "p-1", "subAccount": "acme", "currency": "USDT", "amount": D("12.5")}
    request = ReserveRequest.model_validate(old)
    assert (request.limits, request.address) == ([], None)
    new = reserve("p-2", "1", limit("10"), address="TXyz")
    assert ReserveRequest.model_validate(new.model_dump(by_alias=True)) == new
    assert new.model_dump(by_alias=True)["limits"][0] == {
        "windowSeconds": DAY,
        "maxAmount": D(10),
        "name": "24h",
    }
    assert reserve("p-3", "1", address="  ").address is None  # blank: no address


@pytest.mark.parametrize("window", [0, -5, None, True, 1.5])
async def test_a_limit_needs_a_positive_whole_window(window: object) -> None:
    with pytest.raises(ValidationError):
        SpendingLimit.model_validate({"windowSeconds": window, "maxAmount": D(1)})


@pytest.mark.parametrize("max_amount", [D(0), D(-1), None])
async def test_a_limit_needs_a_positive_maximum(max_amount: object) -> None:
    with pytest.raises(ValidationError):
        SpendingLimit.model_validate({"windowSeconds": 60, "maxAmount": max_amount})


# --- enforcement ----------------------------------------------------------------------------


async def test_a_limit_refuses_and_names_the_usage(clocked: Clocked) -> None:
    books = clocked.books
    await books.reserve(reserve("p-1", "9000", limit("10000")))
    with pytest.raises(SpendingLimitExceededError) as refused:
        await books.reserve(reserve("p-2", "2000", limit("10000")))
    error = refused.value
    assert str(error) == (
        "spending limit 24h on 'treasury' USDT_TRX: 9000 used of 10000, this payout needs 2000"
    )
    assert (error.usage, error.amount, error.max_amount, error.window_seconds) == (
        D(9000),
        D(2000),
        D(10000),
        DAY,
    )
    assert (error.limit_name, error.items, error.retryable) == ("24h", 1, False)
    assert error.ledger == ("sqlite" if isinstance(books, SqliteLedger) else "postgres")
    assert await books.entry("p-2") is None
    balance = await books.balance(ACCOUNT, CURRENCY)
    assert (balance.available, balance.reserved) == (D(91_000), D(9000))
    # Up to the maximum exactly is within it.
    await books.reserve(reserve("p-3", "1000", limit("10000")))
    assert await books.usage(ACCOUNT, CURRENCY, DAY) == D(10000)


async def test_every_limit_is_checked_and_the_first_broken_one_named(clocked: Clocked) -> None:
    books = clocked.books
    hour = limit("100", 3600, name=None)
    await books.reserve(reserve("p-1", "80", limit("1000"), hour))
    with pytest.raises(SpendingLimitExceededError) as refused:
        await books.reserve(reserve("p-2", "30", limit("1000"), hour))
    assert (refused.value.limit_name, refused.value.window_seconds) == (None, 3600)
    assert str(refused.value).startswith("spending limit 3600s on 'treasury' USDT_TRX: 80 used")


async def test_settled_and_reserved_count_and_released_does_not(clocked: Clocked) -> None:
    books = clocked.books
    await books.reserve(reserve("paid", "10"))
    await books.settle(SettleRequest(key="paid", paid_amount=D(10), fee=D("1.5")))  # 11.5 left
    await books.reserve(reserve("cheaper", "10"))
    await books.settle(SettleRequest(key="cheaper", paid_amount=D("7"), fee=D("0.5")))  # 7.5
    await books.reserve(reserve("held", "5"))
    await books.reserve(reserve("dropped", "40"))
    await books.release(ReleaseRequest(key="dropped", reason="FAILED"))
    await books.release(ReleaseRequest(key="never-reserved", reason="REJECTED"))  # a tombstone
    await books.fund(ACCOUNT, "ETH", D(100))
    await books.reserve(reserve("other-currency", "50", currency="ETH"))
    await books.fund("other", CURRENCY, D(100))
    await books.reserve(reserve("other-account", "50", account="other"))
    assert await books.usage(ACCOUNT, CURRENCY, DAY) == D(24)
    with pytest.raises(SpendingLimitExceededError) as refused:
        await books.reserve(reserve("p-next", "7", limit("30")))
    assert refused.value.usage == D(24)
    await books.reserve(reserve("p-next", "6", limit("30")))


async def test_only_reservations_inside_the_window_count(clocked: Clocked) -> None:
    books, clock = clocked.books, clocked.clock
    await books.reserve(reserve("old", "60", limit("100")))
    clock.advance(3600)
    await books.reserve(reserve("newer", "30", limit("100")))
    await books.settle(SettleRequest(key="old", paid_amount=D(60)))  # settling moves no time
    assert await books.usage(ACCOUNT, CURRENCY, DAY) == D(90)
    assert await books.usage(ACCOUNT, CURRENCY, 3600) == D(30)  # "old" is exactly 1 h old
    clock.advance(DAY - 3600 - 1)  # "old" is one second from leaving the day
    with pytest.raises(SpendingLimitExceededError):
        await books.reserve(reserve("p-1", "20", limit("100")))
    clock.advance(1)  # now it has left
    assert await books.usage(ACCOUNT, CURRENCY, DAY) == D(30)
    await books.reserve(reserve("p-1", "20", limit("100")))
    assert await books.usage(ACCOUNT, CURRENCY, DAY) == D(50)


async def test_a_repeated_reservation_is_not_checked_again(clocked: Clocked) -> None:
    books = clocked.books
    first = await books.reserve(reserve("p-1", "90", limit("100")))
    # The same reservation again, with a limit it would now break: the entry it made.
    again = await books.reserve(reserve("p-1", "90.00", limit("50")))
    assert again == first
    assert (await books.balance(ACCOUNT, CURRENCY)).reserved == D(90)
    batch = await books.apply_many([reserve("p-1", "90", limit("1")), reserve("p-2", "5")])
    assert batch[0] == first and batch[1].state is EntryState.RESERVED


async def test_funds_are_checked_before_limits(clocked: Clocked) -> None:
    with pytest.raises(InsufficientLedgerFundsError):
        await clocked.books.reserve(reserve("p-1", "200000", limit("10")))


# --- batches --------------------------------------------------------------------------------


async def test_each_reserve_in_a_batch_sees_the_ones_before_it(clocked: Clocked) -> None:
    books = clocked.books
    await books.reserve(reserve("earlier", "2", limit("10")))
    fits = [reserve(f"m/item/{n}", "3", limit("10")) for n in range(2)]
    assert len(await books.apply_many(fits)) == 2  # 2 + 3 + 3
    assert await books.usage(ACCOUNT, CURRENCY, DAY) == D(8)
    batch = [
        reserve("m/item/1", "3", limit("10")),  # a repeat: counted once, not needed again
        *(reserve(f"m2/item/{n}", "1", limit("10")) for n in range(3)),
    ]
    with pytest.raises(SpendingLimitExceededError) as refused:
        await books.apply_many(batch)
    # The whole batch rolled back, and its error speaks for it: 3 new items needing 3 together,
    # against the 8 the window holds without them.
    error = refused.value
    assert (error.usage, error.amount, error.items) == (D(8), D(3), 3)
    assert str(error).endswith("8 used of 10, these 3 payouts need 3")
    assert await books.entry("m2/item/0") is None
    assert await books.usage(ACCOUNT, CURRENCY, DAY) == D(8)
    assert (await books.balance(ACCOUNT, CURRENCY)).reserved == D(8)


async def test_a_settle_in_a_batch_counts_for_the_reserves_after_it(clocked: Clocked) -> None:
    books = clocked.books
    await books.reserve(reserve("a", "5", limit("10")))
    batch: list[LedgerRequest] = [
        reserve("b", "1", limit("10")),  # the window holds 5, then 6
        SettleRequest(key="a", paid_amount=D(5), fee=D(1)),  # a fee on top: 7
        reserve("c", "3.5", limit("10")),  # 10.5: over
    ]
    with pytest.raises(SpendingLimitExceededError) as refused:
        await books.apply_many(batch)
    assert (refused.value.usage, refused.value.amount, refused.value.items) == (D(5), D("4.5"), 2)
    assert (await books.entry("a")).state is EntryState.RESERVED  # type: ignore[union-attr]
    batch[2] = reserve("c", "3", limit("10"))  # exactly 10
    await books.apply_many(batch)
    assert await books.usage(ACCOUNT, CURRENCY, DAY) == D(10)


async def test_a_release_in_a_batch_frees_room_for_the_reserves_after_it(
    clocked: Clocked,
) -> None:
    books = clocked.books
    await books.reserve(reserve("a", "8", limit("10")))
    await books.apply_many(
        [
            reserve("b", "2", limit("10")),
            ReleaseRequest(key="a", reason="FAILED"),
            reserve("c", "8", limit("10")),
        ]
    )
    assert await books.usage(ACCOUNT, CURRENCY, DAY) == D(10)


# --- recipient history ----------------------------------------------------------------------


async def test_paid_before_only_once_a_payment_to_the_address_settled(clocked: Clocked) -> None:
    books = clocked.books
    await books.reserve(reserve("p-1", "10", address="TNew"))
    assert not await books.paid_before(ACCOUNT, "TNew")  # reserved is not paid
    await books.settle(SettleRequest(key="p-1", paid_amount=D(10)))
    assert await books.paid_before(ACCOUNT, "TNew")
    assert not await books.paid_before(ACCOUNT, "tnew")  # compared exactly
    assert not await books.paid_before("other", "TNew")
    await books.reserve(reserve("p-2", "10", address="TGone"))
    await books.release(ReleaseRequest(key="p-2", reason="FAILED"))
    assert not await books.paid_before(ACCOUNT, "TGone")
    await books.fund(ACCOUNT, "ETH", D(1))
    await books.reserve(reserve("p-3", "1", address="TEth", currency="ETH"))  # any currency
    await books.settle(SettleRequest(key="p-3", paid_amount=D(1)))
    assert await books.paid_before(ACCOUNT, "TEth")


async def test_both_ledgers_answer_the_insights_protocol(books: Books) -> None:
    insights: LedgerInsights = books
    assert isinstance(insights, LedgerInsights)
    assert await insights.usage("nobody", "USDT", 60) == D(0)
    assert not await insights.paid_before("nobody", "T")
    with pytest.raises(ValueError):
        await insights.usage("nobody", "USDT", 0)


async def test_an_older_sqlite_file_gains_the_recipients(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    first = SqliteLedger(path)
    await first.fund(ACCOUNT, CURRENCY, D(100))
    await first.reserve(reserve("p-old", "10"))
    await first.close()
    with sqlite3.connect(path) as old:  # as the version before recipients were kept
        old.executescript(
            "DROP TABLE recipients; DROP INDEX reservation_times_by_time;"
            " UPDATE reservation_times SET reserved_at = '2026-05-01T09:00:00+00:00';"
        )
    old.close()
    books = SqliteLedger(path, clock=lambda: START + timedelta(seconds=1))
    try:
        assert await books.usage(ACCOUNT, CURRENCY, 60) == D(10)  # an old-format time counts
        await books.reserve(reserve("p-new", "5", limit("15"), address="TAddr"))
        await books.settle(SettleRequest(key="p-new", paid_amount=D(5)))
        assert await books.paid_before(ACCOUNT, "TAddr")
    finally:
        await books.close()


async def test_an_older_postgres_database_gains_the_address_column(
    postgres: PostgresServer,
) -> None:
    dsn = postgres.new_database()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as old:
        for statement in SCHEMA:  # the tables as the version before addresses created them
            await old.execute(statement)
        await old.execute(
            "INSERT INTO ledger_balances VALUES (%s, %s, 100, 10, 0)", (ACCOUNT, CURRENCY)
        )
        await old.execute(
            "INSERT INTO ledger_entries VALUES ('p-old', %s, %s, 10, 'RESERVED', NULL, NULL,"
            " NULL, now(), now())",
            (ACCOUNT, CURRENCY),
        )
    books = PostgresLedger(dsn)
    try:
        assert await books.usage(ACCOUNT, CURRENCY, 60) == D(10)
        await books.reserve(reserve("p-new", "5", limit("15"), address="TAddr"))
        await books.settle(SettleRequest(key="p-new", paid_amount=D(5)))
        assert await books.paid_before(ACCOUNT, "TAddr")
    finally:
        await books.close()
    again = PostgresLedger(dsn)  # a second start finds the column and adds nothing
    try:
        assert await again.paid_before(ACCOUNT, "TAddr")
    finally:
        await again.close()


# --- races ----------------------------------------------------------------------------------

LIMIT, WORKERS, PER_WORKER = 150, 4, 100


def assert_exactly_the_limit(outcomes: list[LimitRaceOutcome]) -> None:
    assert [o.other_errors for o in outcomes] == [[]] * WORKERS
    assert all(o.refusals_clean for o in outcomes)
    reserved = sum(o.reserved for o in outcomes)
    refused = sum(o.refused for o in outcomes)
    assert (reserved, refused) == (LIMIT, WORKERS * PER_WORKER - LIMIT)


async def test_sqlite_workers_racing_reserve_exactly_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    # One ledger (one connection, its own thread) per worker, as worker processes would have.
    ledgers = [SqliteLedger(path, busy_timeout_seconds=60) for _ in range(WORKERS)]
    try:
        await ledgers[0].fund(*LIMITED_ACCOUNT, D(10_000))
        outcomes = await asyncio.gather(
            *(reserve_many(ledger, n, PER_WORKER, LIMIT) for n, ledger in enumerate(ledgers))
        )
        assert_exactly_the_limit(list(outcomes))
        balance = await ledgers[1].balance(*LIMITED_ACCOUNT)
        assert (balance.available, balance.reserved) == (D(10_000 - LIMIT), D(LIMIT))
        assert await ledgers[2].usage(*LIMITED_ACCOUNT, DAY) == D(LIMIT)
    finally:
        for ledger in ledgers:
            await ledger.close()


async def test_postgres_processes_racing_reserve_exactly_the_limit(
    postgres: PostgresServer,
) -> None:
    dsn = postgres.new_database()
    books = PostgresLedger(dsn)
    try:
        await books.fund_once("limit-race-funding", *LIMITED_ACCOUNT, D(10_000))
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
            outcomes: list[LimitRaceOutcome] = await asyncio.gather(
                *(
                    loop.run_in_executor(pool, reserve_many_postgres, dsn, n, PER_WORKER, LIMIT)
                    for n in range(WORKERS)
                )
            )
        assert_exactly_the_limit(outcomes)
        balance = await books.balance(*LIMITED_ACCOUNT)
        assert (balance.available, balance.reserved) == (D(10_000 - LIMIT), D(LIMIT))
        assert await books.usage(*LIMITED_ACCOUNT, DAY) == D(LIMIT)
    finally:
        await books.close()


# --- the ledgers that cannot ----------------------------------------------------------------


async def test_the_http_ledger_refuses_limits_before_sending_anything() -> None:
    with refusing_url() as url:  # a call would fail as unavailable, not as unsupported
        ledger = HttpLedger(url, LEDGER_SECRET)
        try:
            with pytest.raises(LedgerUnsupportedError) as refused:
                await ledger.reserve(reserve("p-1", "1", limit("10")))
            assert not refused.value.retryable and "spending limits" in str(refused.value)
            with pytest.raises(LedgerUnsupportedError):
                await ledger.apply_many([reserve("p-1", "1"), reserve("p-2", "1", limit("10"))])
            with pytest.raises(LedgerUnsupportedError):
                await ledger.usage(ACCOUNT, CURRENCY, DAY)
            with pytest.raises(LedgerUnsupportedError):
                await ledger.paid_before(ACCOUNT, "TAddr")
        finally:
            await ledger.close()


async def test_the_http_contract_body_is_unchanged(books: Books, switchboard: Switchboard) -> None:
    received: list[Received] = []
    url = switchboard.plug(ledger_backend(books, LEDGER_SECRET, received))
    ledger = HttpLedger(url, LEDGER_SECRET)
    try:
        await books.fund(ACCOUNT, CURRENCY, D(10))
        await ledger.reserve(reserve("p-1", "1", address="TAddr"))
    finally:
        await ledger.close()
    assert received[-1].body == (
        b'{"key":"p-1","subAccount":"treasury","currency":"USDT_TRX","amount":1}'
    )


async def test_no_ledger_refuses_limits_and_history() -> None:
    ledger = NoLedger()
    entry = await ledger.reserve(reserve("p-1", "1", address="TAddr"))  # no limits: as ever
    assert entry.state is EntryState.RESERVED
    with pytest.raises(LedgerUnsupportedError):
        await ledger.reserve(reserve("p-1", "1", limit("10")))
    with pytest.raises(LedgerUnsupportedError):
        await ledger.apply_many([reserve("p-2", "1", limit("10"))])
    with pytest.raises(LedgerUnsupportedError):
        await ledger.usage(ACCOUNT, CURRENCY, DAY)
    with pytest.raises(LedgerUnsupportedError):
        await ledger.paid_before(ACCOUNT, "TAddr")


# --- into the workflow ----------------------------------------------------------------------


def failed_in_workflow(failure: ApplicationError) -> ActivityError:
    in_workflow = ActivityError(
        "activity failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="w",
        activity_type="reserve_funds",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    in_workflow.__cause__ = failure
    return in_workflow


async def test_the_limit_crosses_the_activity_boundary_with_its_numbers() -> None:
    with pytest.raises(ApplicationError) as failed, as_application_errors():
        raise SpendingLimitExceededError(
            sub_account=ACCOUNT,
            currency=CURRENCY,
            limit_name="24h",
            window_seconds=DAY,
            max_amount=D("10000"),
            usage=D("9000.50"),
            amount=D("2000"),
            ledger="postgres",
        )
    failure = failed.value
    assert failure.non_retryable and failure.type == "SpendingLimitExceededError"
    assert failure.details == (
        {
            "sub_account": ACCOUNT,
            "currency": CURRENCY,
            "limit_name": "24h",
            "window_seconds": DAY,
            "max_amount": "10000",
            "usage": "9000.50",
            "amount": "2000",
            "items": 1,
            "ledger": "postgres",
        },
    )
    hit = limit_of(failed_in_workflow(failure))
    assert hit is not None
    assert (hit.sub_account, hit.currency, hit.label, hit.window_seconds) == (
        ACCOUNT,
        CURRENCY,
        "24h",
        DAY,
    )
    assert (hit.max_amount, hit.usage, hit.amount, hit.remaining) == (
        D(10000),
        D("9000.50"),
        D(2000),
        D("999.50"),
    )
    assert hit.text() == (
        "spending limit 24h on 'treasury' USDT_TRX: 9000.50 used of 10000, this payout needs 2000"
    )
    assert shortfall_of(failed_in_workflow(failure)) is None
    assert limit_of(ApplicationError("short", type="InsufficientLedgerFundsError")) is None
    assert limit_of(ApplicationError("no details", type="SpendingLimitExceededError")) is None


async def test_a_limit_past_its_maximum_has_nothing_remaining() -> None:
    with pytest.raises(ApplicationError) as failed, as_application_errors():
        raise SpendingLimitExceededError(
            sub_account=ACCOUNT,
            currency=CURRENCY,
            limit_name=None,
            window_seconds=3600,
            max_amount=D(10),
            usage=D("10.3"),
            amount=D(1),
            items=4,
        )
    hit = limit_of(failed.value)
    assert hit is not None and hit.remaining == D(0) and hit.label == "3600s"
    assert hit.text().endswith("10.3 used of 10, these 4 payouts need 1")
