"""`payouts ledger` entries and release as an operator runs them, against a real SQLite file. A
release that needs a Temporal server is in tests/integration/test_ledger_cli.py; here, the ones
that must not reach it, and one whose Temporal cannot be reached (the real script, in a
subprocess: a failed connect must not abort the test process)."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from activities.ledger import (
    EntryState,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
    SqliteLedger,
)
from tests.ledger import ledger_cli_support
from tests.ledger.ledger_cli_support import (
    MASS,
    ROOT,
    SINGLE,
    Payouts,
    Ran,
    available,
    one_line_error,
    with_books,
)
from tests.ports import closed_port

D = Decimal
# The shared fixtures: the books' file, and `payouts ARGS` run on it.
books_path = ledger_cli_support.books_path
payouts = ledger_cli_support.payouts


# --- entries -------------------------------------------------------------------------------------


@pytest.fixture
def booked(books_path: Path) -> Path:
    """A single payout reserved, and a mass payout of 30 items: 10 settled, 5 released."""

    async def book(books: SqliteLedger) -> None:
        await books.fund("default", "USDT_TRX", D(1000))
        await books.reserve(
            ReserveRequest(key=SINGLE, sub_account="default", currency="USDT_TRX", amount=D("25.5"))
        )
        await books.apply_many(
            [
                ReserveRequest(
                    key=f"{MASS}/item/{n}", sub_account="default", currency="USDT_TRX", amount=D(2)
                )
                for n in range(30)
            ]
        )
        settle = [
            SettleRequest(key=f"{MASS}/item/{n}", paid_amount=D(2), fee=D("0.1")) for n in range(10)
        ]
        release = [ReleaseRequest(key=f"{MASS}/item/{n}", reason="FAILED") for n in range(10, 15)]
        await books.apply_many([*settle, *release])

    with_books(books_path, book)
    return books_path


def test_entries_of_a_single_payout(payouts: Payouts, booked: Path) -> None:
    ran = payouts("ledger", "entries", SINGLE)
    assert ran.code == 0, ran.err
    assert f"saga payout-{SINGLE}" in ran.out
    assert "RESERVED" in ran.out and "25.5 USDT_TRX" in ran.out

    document = payouts("ledger", "entries", SINGLE, "--json").json()
    assert document["count"] == 1 and document["saga"] == f"payout-{SINGLE}"
    (entry,) = document["entries"]
    assert entry["key"] == SINGLE and entry["state"] == "RESERVED"
    assert entry["reserved_at"] and entry["saga"] == f"payout-{SINGLE}"


def test_entries_of_a_mass_payout_are_summarised(payouts: Payouts, booked: Path) -> None:
    ran = payouts("ledger", "entries", MASS, "--limit", "5")
    assert ran.code == 0, ran.err
    assert f"mass payout {MASS} · saga mass-payout-{MASS} · 30 items" in ran.out
    assert "reserved 15 (30 USDT_TRX) · settled 10 (20 USDT_TRX) · released 5 (10" in ran.out
    assert "… and 25 more" in ran.out

    document = payouts("ledger", "entries", MASS, "--json", "--limit", "12").json()
    assert document["count"] == 30 and document["saga"] == f"mass-payout-{MASS}"
    assert [(t["state"], t["count"]) for t in document["totals"]] == [
        ("RESERVED", 15),
        ("SETTLED", 10),
        ("RELEASED", 5),
    ]
    keys = [entry["key"] for entry in document["entries"]]
    assert keys == [f"{MASS}/item/{n}" for n in range(12)]  # item order, not text order
    settled, released = document["entries"][0], document["entries"][10]
    assert (settled["state"], settled["paid_amount"], settled["fee"]) == ("SETTLED", 2, D("0.1"))
    assert (released["state"], released["reason"]) == ("RELEASED", "FAILED")

    item = payouts("ledger", "entries", f"{MASS}/item/3", "--json").json()
    assert item["saga"] == f"mass-payout-{MASS}" and item["entries"][0]["state"] == "SETTLED"


def test_entries_of_an_account(payouts: Payouts, booked: Path) -> None:
    document = payouts("ledger", "entries", "--account", "default", "--json").json()
    assert document["account"] == "default" and document["count"] == 31
    assert len(document["entries"]) == 20  # the default --limit
    assert payouts("ledger", "entries", "--account", "nobody", "--json").json()["count"] == 0


def test_entries_needs_one_key_or_an_account(payouts: Payouts, booked: Path) -> None:
    one_line_error(payouts("ledger", "entries"), "a KEY or --account")
    one_line_error(payouts("ledger", "entries", SINGLE, "--account", "x"), "a KEY or --account")
    one_line_error(payouts("ledger", "entries", "nope"), "no ledger entries under 'nope'", code=1)


# --- release (what needs no Temporal) ------------------------------------------------------------


def test_release_refuses_settled_money(payouts: Payouts, booked: Path) -> None:
    ran = payouts("ledger", "release", f"{MASS}/item/0", "--reason", "cleanup")
    one_line_error(ran, "was settled", "nothing released", code=1)
    entry = with_books(booked, lambda books: books.entry(f"{MASS}/item/0"))
    assert entry.state == EntryState.SETTLED


def test_release_of_a_released_entry_says_so(payouts: Payouts, booked: Path) -> None:
    ran = payouts("ledger", "release", f"{MASS}/item/12", "--reason", "again")
    assert ran.code == 0, ran.err
    assert "already released" in ran.out and "nothing moved" in ran.out


def test_release_of_a_key_no_saga_owns(payouts: Payouts, books_path: Path) -> None:
    async def book(books: SqliteLedger) -> None:
        await books.fund("default", "USDT_TRX", D(10))
        await books.reserve(
            ReserveRequest(key="manual-1", sub_account="default", currency="USDT_TRX", amount=D(4))
        )

    with_books(books_path, book)
    one_line_error(payouts("ledger", "release", "manual-1", "--reason", " "), "reason:")
    ran = payouts("ledger", "release", "manual-1", "--reason", "test hold", "--json")
    assert ran.code == 0, ran.err
    document = ran.json()
    assert (document["released"], document["amount"], document["saga"]) == (1, 4, None)
    assert document["entries"][0]["reason"] == "released by operator: test hold"
    assert available(books_path) == D(10)


def test_release_never_guesses_when_temporal_cannot_say(booked: Path, tmp_path: Path) -> None:
    """The real script: a saga's reservation, and no Temporal to ask whether it still runs."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PAYOUTS_", "TEMPORAL_", "CALYPSO_"))
    }
    environ.update(
        PYTHONPATH=str(ROOT),
        PAYOUTS_HOME=str(tmp_path / "home"),
        PAYOUTS_LEDGER_PATH=str(booked),
        TEMPORAL_ADDRESS=f"127.0.0.1:{closed_port()}",
    )
    script = [sys.executable, "-c", "from starter.cli.main import main; main()"]
    ran = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [*script, "ledger", "release", SINGLE, "--reason", "stuck"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    one_line_error(Ran(ran.returncode, ran.stdout, ran.stderr), "cannot reach Temporal", code=1)
    assert "nothing released" in ran.stderr
    entry = with_books(booked, lambda books: books.entry(SINGLE))
    assert entry.state == EntryState.RESERVED
