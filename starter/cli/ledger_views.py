"""What the `payouts ledger` verbs print: the JSON documents (`--json`) and the readable views."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel
from rich.markup import escape
from rich.table import Table

from activities.ledger import EntryTotal, FundingResult, LedgerBalance, LedgerRecord
from starter.cli.output import console
from workflows.keys import mass_payout_workflow_id, single_payout_workflow_id

ITEM_INFIX = "/item/"  # a mass item's key is `<massKey>/item/<n>` (workflows/ledger_steps.py)


def saga_of(key: str) -> str | None:
    """The workflow that owns the entry `key`: `payout-<key>`, or `mass-payout-<massKey>` for a
    mass item; None for a key no saga makes (saga keys are UUIDs)."""
    mass, infix, index = key.partition(ITEM_INFIX)
    try:
        if infix and index.isdigit():
            return mass_payout_workflow_id(uuid.UUID(mass))
        return single_payout_workflow_id(uuid.UUID(key))
    except ValueError:
        return None


class Balances(BaseModel):
    ledger: str  # the file
    balances: list[LedgerBalance]


class EntryView(LedgerRecord):
    saga: str | None = None


class Entries(BaseModel):
    """Entries of one key, of a mass payout's items, or of a sub-account: totals per state over
    all of them, and the entries shown (`shown` of `count`)."""

    key: str | None = None
    account: str | None = None
    saga: str | None = None
    count: int
    totals: list[EntryTotal]
    entries: list[EntryView]


class Released(BaseModel):
    """What `release` did: entries released now, and the saga that was checked."""

    key: str
    saga: str | None
    saga_status: str | None  # None: no such workflow
    released: int
    amount: Decimal
    currency: str | None
    entries: list[LedgerRecord]  # a single entry's, or none for a mass payout's items


def view_of(record: LedgerRecord) -> EntryView:
    return EntryView(**record.model_dump(), saga=saga_of(record.key))


def print_balances(found: Balances) -> None:
    if not found.balances:
        say(f"no balances in {found.ledger}")
        return
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("account", "currency"):
        table.add_column(column)
    for column in ("available", "reserved", "settled"):
        table.add_column(column, justify="right")
    for row in found.balances:
        table.add_row(
            escape(row.sub_account),
            row.currency,
            _plain(row.available),
            _plain(row.reserved),
            _plain(row.settled),
        )
    console.print(table)


def print_funding(result: FundingResult) -> None:
    funding, balance = result.funding, result.balance
    what = f"{_plain(funding.amount)} {funding.currency} to {funding.sub_account!r}"
    if result.new:
        say(f"funded {what} (reference {funding.reference})")
    else:
        say(
            f"reference {funding.reference} already funded {what} at {_when(funding.funded_at)}"
            " UTC:"
            " not funded again"
        )
    say(
        f"  {funding.sub_account} {funding.currency}: available {_plain(balance.available)}"
        f" · reserved {_plain(balance.reserved)} · settled {_plain(balance.settled)}"
    )


def print_entries(found: Entries) -> None:
    """A header (what was listed, totals per state), then one row per entry shown."""
    mass = found.key is not None and (found.count != 1 or found.entries[0].key != found.key)
    if mass:
        say(f"mass payout {found.key} · saga {found.saga} · {found.count} items")
    elif found.account is not None:
        say(f"sub-account {found.account} · {_entries(found.count)}")
    else:
        say(f"{found.key} · saga {found.saga or '(none)'}")
    if found.count > 1:
        say("  " + " · ".join(map(_total, found.totals)))
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("item" if mass else "key", "state", "amount", "reserved (UTC)", "moved (UTC)"):
        table.add_column(column, no_wrap=True)
    table.add_column("paid + fee")
    table.add_column("reason", no_wrap=True, overflow="ellipsis", max_width=60)
    for entry in found.entries:
        table.add_row(
            entry.key.rpartition(ITEM_INFIX)[2] if mass else escape(entry.key),
            entry.state,
            f"{_plain(entry.amount)} {entry.currency or ''}".strip(),
            _when(entry.reserved_at),
            _when(entry.updated_at) if entry.state != "RESERVED" else "",
            f"{_plain(entry.paid_amount)} + {_plain(entry.fee)}" if entry.paid_amount else "",
            escape(entry.reason or ""),
        )
    console.print(table)
    if len(found.entries) == 1 and found.entries[0].reason:
        say(f"  reason: {found.entries[0].reason}")
    if found.count > len(found.entries):
        say(f"  … and {found.count - len(found.entries)} more (--limit)")


def print_released(done: Released) -> None:
    if not done.released and done.entries:
        entry = done.entries[0]
        say(
            f"{done.key} was already released at {_when(entry.updated_at)}"
            f" ({entry.reason or 'no reason'}): nothing moved"
        )
        return
    if not done.released:
        say(f"nothing is reserved under {done.key}: nothing moved")
        return
    saga = (
        f"saga {done.saga}: {done.saga_status or 'no such workflow'}"
        if done.saga
        else "no saga owns this key"
    )
    say(
        f"released {done.key}: {_entries(done.released)},"
        f" {_plain(done.amount)} {done.currency or ''} back to available ({saga})"
    )


def say(text: str) -> None:
    """One line as is: never wrapped at the console's width (keys and commands are copied)."""
    console.print(text, soft_wrap=True, markup=False)


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _plain(amount: Decimal | None) -> str:
    return "" if amount is None else format(amount, "f")


def _when(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _total(total: EntryTotal) -> str:
    # A release with no currency closed a key that was never reserved (docs/ledger.md).
    amount = f"{_plain(total.amount)} {total.currency}" if total.currency else "never reserved"
    return f"{total.state.lower()} {total.count} ({amount})"
