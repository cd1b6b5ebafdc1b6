"""CLI: following a mass payout live (`status --follow`) and its per-item report (`mass-report`)."""

from __future__ import annotations

import asyncio
import csv
import sys
import uuid
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from starter.api import Payouts
from starter.cli.common import (
    KeyArgument,
    key_of,
    run_with_payouts,
)
from starter.cli.output import (
    console,
)
from workflows.mass_models import ItemOutcome, ItemState, MassProgress
from workflows.payout_models import FINAL_SAGA_STATES

REPORT_COLUMNS = [
    "index",
    "address",
    "amount",
    "reference",
    "state",
    "reason",
    "tx_hash",
    "fee",
    "attempts",
    "provider_id",
]

FOLLOW_POLL_SECONDS = 1.0


def register(app: typer.Typer) -> None:
    app.command(name="mass-report")(mass_report)


def mass_report(
    key: KeyArgument,
    output: Annotated[Path | None, typer.Option(help="Write the CSV here, not stdout.")] = None,
) -> None:
    """Write every item's final outcome as CSV (the mass payout must have ended)."""
    mass_key = key_of(key)

    async def report(payouts: Payouts) -> list[ItemOutcome]:
        return [item async for item in payouts.mass.report(mass_key)]

    items = run_with_payouts(report)
    if output is None:
        write_report(sys.stdout, items)
        return
    with output.open("w", newline="") as sink:
        write_report(sink, items)
    console.print(f"{len(items)} items written to {output}")


def write_report(sink: TextIO, items: list[ItemOutcome]) -> None:
    """One CSV row per item, in list order, with REPORT_COLUMNS as the header."""
    writer = csv.writer(sink)
    writer.writerow(REPORT_COLUMNS)
    for item in items:
        writer.writerow([_cell(getattr(item, column)) for column in REPORT_COLUMNS])


def _cell(value: object) -> str:
    return "" if value is None else str(value)


async def follow_progress(payouts: Payouts, mass_key: uuid.UUID) -> MassProgress:
    """Two live bars until the mass payout ends: items the provider has (their deal was created
    at the provider) and items that have ended, with the counts per state. The first moves as
    deals are sent, the second as they end: the provider reports a deal's items together."""
    progress = await payouts.mass.progress(mass_key)
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
    )
    with Progress(*columns, console=console) as bar:
        sent = bar.add_task("sent to the provider", total=progress.items, detail="")
        ended = bar.add_task(str(progress.state), total=progress.items, detail="")
        while True:
            bar.update(sent, completed=await payouts.mass.items_sent(progress))
            bar.update(
                ended,
                completed=progress.items - progress.counts.get(ItemState.PENDING, 0),
                description=f"ended ({progress.state})",
                detail=", ".join(
                    f"{state.lower()} {count}"
                    for state, count in progress.counts.items()
                    if count and state != ItemState.PENDING
                ),
            )
            if progress.state in FINAL_SAGA_STATES:
                return progress
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
            progress = await payouts.mass.progress(mass_key)
