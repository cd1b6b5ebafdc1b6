"""How the CLI prints sagas: a readable view on a terminal, one JSON document with --json."""

from __future__ import annotations

import sys
import uuid
from datetime import date, datetime
from typing import Any

import simplejson
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from workflows.mass_models import MassProgress
from workflows.payout_models import PayoutStatus

# Off a terminal (CI logs, pipes) rich would wrap at 80 columns; timelines read better wider.
console = Console() if sys.stdout.isatty() else Console(width=140)


def emit_json(model: BaseModel | list[BaseModel]) -> None:
    """One JSON document; money stays an exact number, as on the provider's wire."""
    value: Any = (
        [item.model_dump(mode="python") for item in model]
        if isinstance(model, list)
        else model.model_dump(mode="python")
    )
    print(simplejson.dumps(value, use_decimal=True, default=_plain))


def _plain(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_status(status: PayoutStatus | MassProgress) -> None:
    """A payout's state, facts and timeline; a mass payout's counts and deals."""
    if isinstance(status, MassProgress):
        print_mass_progress(status)
        return
    provider = f" · provider {status.provider_state}" if status.provider_state else ""
    console.print(
        f"[bold]{status.state}[/]{provider} · {status.amount} {status.currency} → "
        f"{status.deposit_address}"
    )
    facts = {
        "key": str(status.key),
        "provider id": status.provider_id,
        "fee": f"{status.fee} {status.currency}" if status.fee is not None else None,
        "tx hash": status.tx_hash,
        "reason": status.reason,
        "detail": status.detail if status.detail != status.reason else None,
        "errors": "; ".join(status.errors) or None,
        "attempts": str(len(status.attempts)) if status.attempts else None,
        "execution date": status.execution_date.isoformat() if status.execution_date else None,
        "next poll": status.next_poll_at.isoformat() if status.next_poll_at else None,
    }
    for name, value in facts.items():
        if value:
            console.print(f"  {name:>14}: {value}")
    print_timeline(status)


def print_timeline(status: PayoutStatus) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("time", "source", "event", "state", "note"):
        table.add_column(column)
    for entry in status.timeline:
        table.add_row(
            entry.at.strftime("%H:%M:%S.%f")[:-3],
            entry.source,
            entry.event,
            entry.state or "",
            entry.note or "",
        )
    console.print(table)


def print_mass_progress(progress: MassProgress, *, deals_shown: int = 20) -> None:
    console.print(
        f"[bold]{progress.state}[/] · {progress.items} recipients · {progress.total} "
        f"{progress.currency}"
    )
    counts = ", ".join(f"{state.lower()} {n}" for state, n in progress.counts.items() if n)
    console.print(f"  items: {counts}")
    console.print(
        f"  paid {progress.paid} · failed {progress.failed} · released {progress.released} · "
        f"fees {progress.fees} · provider deals sent {progress.provider_deals_sent}"
    )
    if progress.reason:
        console.print(f"  reason: {progress.reason}")
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("deal", "items", "state", "attempts", "workflow"):
        table.add_column(column)
    for deal in progress.deals[:deals_shown]:
        table.add_row(
            str(deal.index), str(deal.items), deal.state, str(deal.attempts), deal.workflow_id
        )
    console.print(table)
    if len(progress.deals) > deals_shown:
        console.print(f"  … and {len(progress.deals) - deals_shown} more deals")
