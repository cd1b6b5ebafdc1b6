"""`payouts ledger`: the ledger's operator verbs — balance, fund, entries, release.

The books are the SQLite file PAYOUTS_LEDGER_PATH names, or the PostgreSQL database of
PAYOUTS_LEDGER_DSN (`Settings.from_env`, `starter.cli.ledger_books`). With PAYOUTS_LEDGER=http or
none they live elsewhere, and every verb says so. Only `release` talks to
Temporal: it releases a reservation only once the saga that holds it has ended or is gone.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, TypeVar

import typer

from activities.ledger import (
    EntryTotal,
    LedgerConflictError,
    LedgerRecord,
)
from calypso.currencies import CURRENCIES, decimals_of, parse_amount
from starter.cli import ledger_limits
from starter.cli.common import CliError, JsonFlag
from starter.cli.ledger_books import Books, books_at, with_ledger
from starter.cli.ledger_release import release_entry
from starter.cli.ledger_views import (
    ITEM_INFIX,
    Balances,
    Entries,
    print_balances,
    print_entries,
    print_funding,
    print_released,
    saga_of,
    view_of,
)
from starter.cli.output import emit_json
from starter.service.settings import Settings

ResultT = TypeVar("ResultT")
PLAIN_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")

app = typer.Typer(
    help="The embedded ledger: balances, funding, entries, releases.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="ledger")


AccountOption = Annotated[str | None, typer.Option("--account", help="Only this sub-account.")]
app.command(name="limits")(ledger_limits.limits)
CurrencyOption = Annotated[str | None, typer.Option("--currency", help="Only this currency.")]


@app.command()
def balance(
    account: AccountOption = None, currency: CurrencyOption = None, as_json: JsonFlag = False
) -> None:
    """Available, reserved and settled per sub-account and currency (all when not filtered)."""
    books = books_at()
    code = currency.upper() if currency else None
    rows = []
    if books.exists():  # reading never creates the file: nothing funded reads as no balances
        rows = with_ledger(books, lambda ledger: ledger.balances(account, code))
    found = Balances(ledger=books.name, balances=rows)
    emit_json(found) if as_json else print_balances(found)


@app.command()
def fund(
    account: Annotated[str, typer.Argument(help="The sub-account, e.g. default.")],
    currency: Annotated[str, typer.Argument(help="Currency code, e.g. USDT_TRX.")],
    amount: Annotated[str, typer.Argument(help="Exact amount, e.g. 100 or 25.50.")],
    reference: Annotated[
        str, typer.Option(help="Your reference for this funding: the same one funds once.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Credit a sub-account, once per --reference (the same reference again funds nothing)."""
    code = _currency_of(currency)
    credit = _fund_amount(amount, code)
    sub_account, ref = account.strip(), reference.strip()  # stray spaces name nothing new
    if not sub_account:
        raise CliError("account: must not be empty")
    if not ref:
        raise CliError("reference: must not be empty")
    try:
        result = with_ledger(
            books_at(), lambda ledger: ledger.fund_once(ref, sub_account, code, credit)
        )
    except LedgerConflictError as exc:
        raise CliError(str(exc)) from None
    emit_json(result) if as_json else print_funding(result)


@app.command()
def entries(
    key: Annotated[
        str | None, typer.Argument(help="A payout's key, a mass payout's key, or a mass item's.")
    ] = None,
    account: AccountOption = None,
    currency: CurrencyOption = None,
    limit: Annotated[int, typer.Option(help="Show at most this many entries.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """What was reserved, settled and released, when, and by which saga: one KEY (a mass
    payout's key lists its items, summarised), or the entries of --account."""
    if (key is None) == (account is None):
        raise CliError("entries: give a KEY or --account, not both and not neither")
    if limit < 1:
        raise CliError(f"limit: must be at least 1, got {limit}")
    books = books_at()
    if not books.exists():
        raise CliError(f"no ledger at {books.name} yet: nothing has been funded", exit_code=1)
    if account is not None:
        code = currency.upper() if currency else None
        totals, records = with_ledger(
            books, lambda ledger: ledger.records_of_account(account, code, limit)
        )
        found = Entries(
            account=account,
            count=sum(total.count for total in totals),
            totals=totals,
            entries=[view_of(record) for record in records],
        )
    else:
        assert key is not None
        found = with_ledger(books, lambda ledger: _entries_of(ledger, key, limit))
    emit_json(found) if as_json else print_entries(found)


@app.command()
def release(
    key: Annotated[str, typer.Argument(help="The entry's key, or a mass payout's key.")],
    reason: Annotated[str, typer.Option(help="Why, recorded on the entry.")],
    as_json: JsonFlag = False,
) -> None:
    """Release a reservation whose saga is gone or has ended without settling it; refused while
    the saga runs, and for settled money. A mass payout's key releases its reserved items."""
    if not reason.strip():
        raise CliError("reason: say why the reservation is released")
    books = books_at()
    if not books.exists():
        raise CliError(f"no ledger at {books.name} yet: nothing to release", exit_code=1)
    settings = Settings.from_env()
    done = with_ledger(books, lambda ledger: release_entry(ledger, settings, key, reason))
    emit_json(done) if as_json else print_released(done)


# --- the steps --------------------------------------------------------------------------------


async def _entries_of(ledger: Books, key: str, limit: int) -> Entries:
    """The entry `key`, or else the items of the mass payout `key`."""
    record = await ledger.record(key)
    if record is not None:
        totals = [EntryTotal(state=record.state, count=1, amount=record.amount)]
        return _listing(key, saga_of(key), totals, [record])
    totals, records = await ledger.records_under(f"{key}{ITEM_INFIX}", limit)
    if not totals:
        raise CliError(f"no ledger entries under {key!r}", exit_code=1)
    return _listing(key, saga_of(f"{key}{ITEM_INFIX}0"), totals, records)


def _listing(
    key: str, saga: str | None, totals: list[EntryTotal], records: list[LedgerRecord]
) -> Entries:
    return Entries(
        key=key,
        saga=saga,
        count=sum(total.count for total in totals),
        totals=totals,
        entries=[view_of(record) for record in records],
    )


# --- input and settings -----------------------------------------------------------------------


def _currency_of(text: str) -> str:
    code = text.strip().upper()
    if code not in CURRENCIES:
        raise CliError(f"currency: unknown currency {text!r} (known: {', '.join(CURRENCIES)})")
    return code


def _fund_amount(text: str, currency: str) -> Decimal:
    """An exact, positive amount in plain notation, within the currency's decimals."""
    try:
        amount = parse_amount(text)
    except ValueError as exc:
        raise CliError(f"amount: {exc}") from None
    if "e" in text.lower():  # Decimal reads `1e3`; money is written in plain digits
        raise CliError(f"amount: {text!r}: write the amount in plain digits, e.g. {amount:f}")
    if amount <= 0:
        raise CliError(f"amount: must be greater than 0, got {text}")
    if not PLAIN_AMOUNT.fullmatch(text.strip()):
        raise CliError(f"amount: {text!r} is not a plain decimal number such as 100 or 25.50")
    scale = CURRENCIES[currency].scale
    if decimals_of(amount) > scale:
        raise CliError(f"amount: {text} has more than the {scale} decimals {currency} allows")
    return amount
