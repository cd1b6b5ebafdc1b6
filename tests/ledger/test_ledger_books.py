"""What the operator interface needs from the embedded ledger: funding once per reference,
balances and entries listed, reservation times, files of an older version, and refusals that
carry their numbers through the activity boundary into the text a saga ends with."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from activities.boundary import as_application_errors
from activities.ledger import (
    EntryState,
    InsufficientLedgerFundsError,
    LedgerConflictError,
    PostgresLedger,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
    SqliteLedger,
    refusal_text,
    shortfall_of,
)
from starter.api.mass import MassPreview, local_ledger_available
from starter.service.settings import Settings
from tests.ledger.conftest import LOOP, Books, LedgerUnderTest
from tests.ledger.postgres_server import PostgresServer

pytestmark = LOOP
D = Decimal


def reserve(key: str, amount: str, account: str = "ops") -> ReserveRequest:
    return ReserveRequest(key=key, sub_account=account, currency="USDT_TRX", amount=D(amount))


async def test_a_reference_funds_once(books: Books) -> None:
    first = await books.fund_once("wire-1", "ops", "USDT_TRX", D("100"))
    again = await books.fund_once("wire-1", "ops", "USDT_TRX", D("100.00"))  # 100 == 100.00

    assert (first.new, again.new) == (True, False)
    assert again.funding == first.funding  # the first funding, read back
    assert (await books.balance("ops", "USDT_TRX")).available == D(100)
    with pytest.raises(LedgerConflictError, match="'wire-1' already funded 100 USDT_TRX"):
        await books.fund_once("wire-1", "ops", "USDT_TRX", D("50"))
    with pytest.raises(LedgerConflictError):
        await books.fund_once("wire-1", "other", "USDT_TRX", D("100"))
    with pytest.raises(ValueError):
        await books.fund_once("wire-2", "ops", "USDT_TRX", D("0"))
    assert (await books.balance("ops", "USDT_TRX")).available == D(100)


async def test_balances_lists_every_account_and_currency(books: Books) -> None:
    await books.fund_once("a", "ops", "USDT_TRX", D("10"))
    await books.fund_once("b", "ops", "ETH", D("1.5"))
    await books.fund_once("c", "default", "USDT_TRX", D("7"))
    await books.reserve(reserve("p-1", "4"))

    every = await books.balances()
    assert [(b.sub_account, b.currency) for b in every] == [
        ("default", "USDT_TRX"),
        ("ops", "ETH"),
        ("ops", "USDT_TRX"),
    ]
    ops_usdt = every[-1]
    assert (ops_usdt.available, ops_usdt.reserved, ops_usdt.settled) == (D(6), D(4), D(0))
    assert [b.currency for b in await books.balances("ops")] == ["ETH", "USDT_TRX"]
    assert [b.sub_account for b in await books.balances(currency="USDT_TRX")] == ["default", "ops"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_entries_by_key_prefix_and_account_with_times(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    moments = iter(datetime(2026, 5, 1, 9, minute, tzinfo=UTC) for minute in range(60))
    books: Books
    if kind == "sqlite":
        books = SqliteLedger(tmp_path / "l.sqlite3", clock=lambda: next(moments))
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        books = PostgresLedger(server.new_database(), clock=lambda: next(moments))
    try:
        await books.fund("ops", "USDT_TRX", D(100))
        mass = "0b9c2a31-6f1e-4c1b-9f0e-1a2b3c4d5e6f"
        await books.apply_many([reserve(f"{mass}/item/{n}", "2") for n in range(12)])
        await books.apply_many(
            [SettleRequest(key=f"{mass}/item/{n}", paid_amount=D(2)) for n in range(3)]
            + [ReleaseRequest(key=f"{mass}/item/{n}", reason="FAILED") for n in (10, 11)]
        )
        await books.reserve(reserve("single", "5"))

        totals, first = await books.records_under(f"{mass}/item/", 4)
        assert [r.key.rpartition("/")[2] for r in first] == ["0", "1", "2", "3"]  # numeric order
        assert [(t.state, t.count, t.amount) for t in totals] == [
            (EntryState.RESERVED, 7, D(14)),
            (EntryState.SETTLED, 3, D(6)),
            (EntryState.RELEASED, 2, D(4)),
        ]
        settled = first[0]
        assert settled.reserved_at == datetime(2026, 5, 1, 9, 0, tzinfo=UTC)  # fund: no clock
        assert settled.updated_at == datetime(2026, 5, 1, 9, 1, tzinfo=UTC)
        assert [r.key for r in await books.reserved_under(f"{mass}/item/")][:2] == [
            f"{mass}/item/3",
            f"{mass}/item/4",
        ]

        account_totals, latest = await books.records_of_account("ops", None, 2)
        assert latest[0].key == "single"  # the most recently moved first
        assert sum(t.count for t in account_totals) == 13
        assert await books.record("nope") is None
    finally:
        await books.close()


async def test_a_file_of_the_older_schema_opens_and_gains_the_new_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:  # the two tables of the first version, with books in them
        old.executescript(
            """
            CREATE TABLE balances (sub_account TEXT NOT NULL, currency TEXT NOT NULL,
                available TEXT NOT NULL, reserved TEXT NOT NULL, settled TEXT NOT NULL,
                PRIMARY KEY (sub_account, currency));
            CREATE TABLE entries (key TEXT PRIMARY KEY, sub_account TEXT, currency TEXT,
                amount TEXT NOT NULL, state TEXT NOT NULL, paid_amount TEXT, fee TEXT,
                reason TEXT, updated_at TEXT NOT NULL);
            INSERT INTO balances VALUES ('ops', 'USDT_TRX', '70', '30', '0');
            INSERT INTO entries VALUES ('p-old', 'ops', 'USDT_TRX', '30', 'RESERVED', NULL, NULL,
                NULL, '2025-01-01T00:00:00+00:00');
            """
        )
    old.close()
    books = SqliteLedger(path)
    try:
        record = await books.record("p-old")
        assert record is not None and record.reserved_at is None  # written before times were kept
        funded = await books.fund_once("w-1", "ops", "USDT_TRX", D("5"))
        assert funded.balance.available == D(75)
        await books.release(ReleaseRequest(key="p-old", reason="operator"))
        assert (await books.balance("ops", "USDT_TRX")).available == D(105)
    finally:
        await books.close()


async def test_a_refused_sqlite_batch_speaks_for_the_whole_batch(books: Books) -> None:
    await books.fund("ops", "USDT_TRX", D(5))
    await books.reserve(reserve("already", "1"))  # repeated in the batch: not needed again
    batch = [reserve("already", "1"), *(reserve(f"m/item/{n}", "2") for n in range(4))]
    with pytest.raises(InsufficientLedgerFundsError) as refused:
        await books.apply_many(batch)
    # Not "3 left, needs 2" as the third item saw it: the batch's 8 against the 4 available.
    assert (refused.value.needed, refused.value.available) == (D(8), D(4))
    assert refused.value.reserved_in_batch == 0
    assert refused.value.ledger == ("sqlite" if isinstance(books, SqliteLedger) else "postgres")


async def test_a_refused_http_batch_says_what_it_kept(under_test: LedgerUnderTest) -> None:
    await under_test.books.fund("ops", "USDT_TRX", D(3))
    with pytest.raises(InsufficientLedgerFundsError) as refused:
        await under_test.ledger.apply_many([reserve(f"m/item/{n}", "1") for n in range(5)])
    kept = 0 if under_test.ledger is under_test.books else 3  # HTTP: one call per item
    assert refused.value.reserved_in_batch == kept
    embedded = "sqlite" if isinstance(under_test.books, SqliteLedger) else "postgres"
    assert refused.value.ledger == (embedded if kept == 0 else "http")


async def test_the_refusal_crosses_the_activity_boundary_with_its_numbers() -> None:
    with pytest.raises(ApplicationError) as failed, as_application_errors():
        raise InsufficientLedgerFundsError(
            sub_account="ops", currency="USDT_TRX", needed=D("25.50"), available=D("-1.25")
        )
    assert failed.value.non_retryable and failed.value.type == "InsufficientLedgerFundsError"
    in_workflow = ActivityError(
        "activity failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="w",
        activity_type="reserve_funds",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    in_workflow.__cause__ = failed.value
    short = shortfall_of(in_workflow)
    assert short is not None
    assert (short.sub_account, short.needed, short.available) == ("ops", D("25.50"), D("-1.25"))
    text = refusal_text(
        sub_account=short.sub_account,
        currency=short.currency,
        available=short.available,
        needed=short.needed,
        reference="topup-k",
    )
    assert text == (
        "sub-account 'ops' has -1.25 USDT_TRX available, needs 25.50;"
        " fund it: payouts ledger fund ops USDT_TRX 26.75 --reference topup-k"
    )
    assert shortfall_of(ApplicationError("other", type="LedgerStateError")) is None


async def test_the_fund_command_is_plain_rounded_up_and_quoted() -> None:
    text = refusal_text(
        sub_account="team a",
        currency="USDT_TRX",
        available=D("0.0000001"),  # more decimals than USDT_TRX has: round the top-up up
        needed=D("1E+1"),
        reference="topup-1",
    )
    assert text.endswith(
        "fund it: payouts ledger fund 'team a' USDT_TRX 10.000000 --reference topup-1"
    )
    assert "needs 10;" in text
    http = refusal_text(
        sub_account="ops",
        currency="ETH",
        available=None,
        needed=D(1),
        reference="r",
        embedded=False,
    )
    assert http == (
        "sub-account 'ops' has an unknown amount of ETH available, needs 1;"
        " fund it in the merchant's ledger"
    )


async def test_the_mass_preview_reads_the_local_books_only(tmp_path: Path) -> None:
    path = tmp_path / "books.sqlite3"
    settings = Settings(ledger_path=str(path))
    assert await local_ledger_available(settings, "ops", "USDT_TRX") == (
        None,
        f"not checked: no ledger file at {path}",
    )
    assert not path.exists()  # a preview never creates the books
    none = await local_ledger_available(Settings(ledger="none"), "ops", "USDT_TRX")
    assert none == (None, "not checked: PAYOUTS_LEDGER=none keeps the books elsewhere")

    books = SqliteLedger(path)
    await books.fund("ops", "USDT_TRX", D("10"))
    await books.close()
    available, note = await local_ledger_available(settings, "ops", "USDT_TRX")
    assert (available, note) == (D(10), None)
    preview = MassPreview(
        count=5, total=D("16.25"), fee=D(0), balance=D(100), currency="USDT_TRX",
        ledger_account="ops", ledger_available=available,
    )  # fmt: skip
    assert preview.ledger_short
    assert preview.ledger_refusal("topup-k") == (
        "sub-account 'ops' has 10 USDT_TRX available, needs 16.25 for all 5 items;"
        " fund it: payouts ledger fund ops USDT_TRX 6.25 --reference topup-k"
    )
    assert not preview.model_copy(update={"ledger_available": None}).ledger_short
