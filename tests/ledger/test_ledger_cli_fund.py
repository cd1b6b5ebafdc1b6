"""`payouts ledger` fund and balance as an operator runs them, against a real SQLite file, and
the one line every verb says when the books live elsewhere."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from activities.ledger import ReserveRequest
from tests.ledger import ledger_cli_support
from tests.ledger.ledger_cli_support import (
    SINGLE,
    VERBS,
    Payouts,
    available,
    one_line_error,
    with_books,
)

D = Decimal
# The shared fixtures: the books' file, and `payouts ARGS` run on it.
books_path = ledger_cli_support.books_path
payouts = ledger_cli_support.payouts


# --- fund ----------------------------------------------------------------------------------------


def test_fund_is_idempotent_by_reference(payouts: Payouts, books_path: Path) -> None:
    first = payouts("ledger", "fund", "default", "usdt_trx", "100", "--reference", "wire-1")
    assert first.code == 0, first.err
    assert "funded 100 USDT_TRX to 'default' (reference wire-1)" in first.out
    again = payouts("ledger", "fund", "default", "USDT_TRX", "100.00", "--reference", "wire-1")
    assert again.code == 0, again.err
    assert "already funded" in again.out and "not funded again" in again.out
    assert available(books_path) == D(100)  # once, not twice

    other = payouts("ledger", "fund", "default", "USDT_TRX", "50", "--reference", "wire-1")
    one_line_error(other, "'wire-1' already funded 100 USDT_TRX to 'default'", "new reference")
    assert available(books_path) == D(100)

    as_json = payouts(
        "ledger", "fund", "ops", "ETH", "0.000000000000000001", "--reference", "w2", "--json"
    )
    document = as_json.json()
    assert document["new"] is True
    assert document["funding"]["amount"] == D("1E-18")  # an exact JSON number
    assert document["balance"]["available"] == D("1E-18")
    assert set(document["funding"]) == {
        "reference",
        "sub_account",
        "currency",
        "amount",
        "funded_at",
    }


@pytest.mark.parametrize(
    ("amount", "says"),
    [
        ("1e3", "plain digits"),
        ("1E-2", "plain digits"),
        ("1.1234567", "more than the 6 decimals USDT_TRX allows"),
        ("0", "must be greater than 0"),
        ("0.000", "must be greater than 0"),
        ("ten", "is not a number"),
        ("NaN", "not a finite number"),
        ("1_000", "not a plain decimal number"),
    ],
)
def test_fund_refuses_a_bad_amount(
    payouts: Payouts, books_path: Path, amount: str, says: str
) -> None:
    ran = payouts("ledger", "fund", "default", "USDT_TRX", amount, "--reference", "r")
    one_line_error(ran, "amount: ", says, amount)
    assert not books_path.exists()  # nothing written, not even the file


def test_fund_refuses_an_unknown_currency_and_empty_names(payouts: Payouts) -> None:
    one_line_error(
        payouts("ledger", "fund", "default", "DOGE", "1", "--reference", "r"),
        "currency: unknown currency 'DOGE'",
    )
    one_line_error(
        payouts("ledger", "fund", "default", "TRX", "1", "--reference", " "), "reference:"
    )
    one_line_error(payouts("ledger", "fund", "default", "TRX", "1"), "--reference")


# --- balance -------------------------------------------------------------------------------------


def test_balance_lists_every_account_or_the_one_asked_for(
    payouts: Payouts, books_path: Path
) -> None:
    empty = payouts("ledger", "balance", "--json")
    assert empty.code == 0 and empty.json() == {"ledger": str(books_path), "balances": []}
    assert not books_path.exists()  # reading never creates the books

    payouts("ledger", "fund", "default", "USDT_TRX", "100", "--reference", "a")
    payouts("ledger", "fund", "ops", "ETH", "2.5", "--reference", "b")
    with_books(
        books_path,
        lambda books: books.reserve(
            ReserveRequest(key="p", sub_account="default", currency="USDT_TRX", amount=D(30))
        ),
    )
    table = payouts("ledger", "balance")
    assert table.code == 0, table.err
    rows = [line.split() for line in table.out.splitlines()]
    assert rows[0] == ["account", "currency", "available", "reserved", "settled"]
    assert rows[1:] == [["default", "USDT_TRX", "70", "30", "0"], ["ops", "ETH", "2.5", "0", "0"]]

    only = payouts("ledger", "balance", "--account", "ops", "--currency", "eth", "--json").json()
    assert only["balances"] == [
        {"sub_account": "ops", "currency": "ETH", "available": D("2.5"), "reserved": 0,
         "settled": 0}
    ]  # fmt: skip


# --- elsewhere, and help -------------------------------------------------------------------------

ELSEWHERE_ARGS = [
    ["balance"],
    ["fund", "default", "USDT_TRX", "1", "--reference", "r"],
    ["entries", SINGLE],
    ["release", SINGLE, "--reason", "r"],
]


@pytest.mark.parametrize("args", ELSEWHERE_ARGS, ids=VERBS)
def test_with_an_http_or_no_ledger_every_verb_says_the_books_live_elsewhere(
    payouts: Payouts, books_path: Path, args: list[str]
) -> None:
    http = {
        "PAYOUTS_LEDGER": "http",
        "PAYOUTS_LEDGER_URL": "https://books.example",
        "PAYOUTS_LEDGER_SECRET": "s",
    }
    one_line_error(payouts("ledger", *args, **http), "PAYOUTS_LEDGER=http", "merchant's backend")
    one_line_error(payouts("ledger", *args, PAYOUTS_LEDGER="HTTP"), "PAYOUTS_LEDGER=http")
    one_line_error(payouts("ledger", *args, PAYOUTS_LEDGER="none"), "PAYOUTS_LEDGER=none")
    assert not books_path.exists()


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(payouts: Payouts, verb: str) -> None:
    ran = payouts("ledger", verb, "--help")
    assert ran.code == 0 and "Usage:" in ran.out and "--json" in ran.out, ran


def test_ledger_lists_its_verbs(payouts: Payouts) -> None:
    ran = payouts("ledger", "--help")
    assert ran.code == 0
    for verb in VERBS:
        assert verb in ran.out
