"""CLI verbs for mass payouts: `mass` (from a CSV) and `mass-report`; `status` follows them."""

from __future__ import annotations

import asyncio
import csv
import sys
import uuid
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from starter.api import InvalidMassListError, MassPayoutRequest, Payouts, checked, parse_mass_csv
from starter.api.mass import recipients_from_parsed
from starter.cli.common import (
    CliError,
    JsonFlag,
    KeyArgument,
    bounded,
    key_of,
    run_with_payouts,
    when_of,
)
from starter.cli.output import console, emit_json
from workflows.mass_models import ItemOutcome, ItemState, MassProgress, Recipients
from workflows.payout_models import FINAL_SAGA_STATES, ResendPolicy

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
    app.command(name="mass")(mass)
    app.command(name="mass-report")(mass_report)


def mass(
    csv_file: Annotated[
        Path, typer.Option("--csv", help="Recipients: address, amount[, comment[, reference]].")
    ],
    currency: Annotated[str, typer.Option(help="One currency for the whole list, e.g. USDT_TRX.")],
    name: Annotated[str, typer.Option(help="A name for this payout, shown at the provider.")],
    comment: Annotated[str | None, typer.Option(help="Comment shown at the provider.")] = None,
    execution_date: Annotated[str | None, typer.Option(help="Pay at this ISO-8601 time.")] = None,
    key: Annotated[str | None, typer.Option(help="Idempotency key (UUID); default: new.")] = None,
    allow_duplicates: Annotated[bool, typer.Option(help="Accept the same address twice.")] = False,
    items_per_deal: Annotated[
        int | None, typer.Option(help="Items per provider deal (default: the currency's limit).")
    ] = None,
    resend: Annotated[int, typer.Option(help="Resend failed items up to N times (0-9).")] = 0,
    resend_delay: Annotated[float, typer.Option(help="Seconds before a resend (>= 1).")] = 300.0,
    ledger_account: Annotated[str, typer.Option(help="Ledger sub-account.")] = "default",
    yes: Annotated[bool, typer.Option("--yes", help="Start without asking.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Pay a list of recipients from a CSV file: every row is checked before anything starts."""
    bounded("resend", resend, 0, 9)
    bounded("resend_delay", resend_delay, 1)
    if items_per_deal is not None:
        bounded("items_per_deal", items_per_deal, 1)
    # With --json, stdout carries exactly one JSON document; people's lines go to stderr.
    say = Console(stderr=True) if as_json else console
    try:  # the API's checks, before connecting (the rows are checked as they are read)
        request = checked(
            MassPayoutRequest(
                currency=currency.upper(),
                recipients=_read_recipients(csv_file, currency.upper(), allow_duplicates, say),
                name=name,
                comment=comment,
                idempotency_key=key_of(key) if key else None,
                execution_date=when_of("execution_date", execution_date),
                items_per_deal=items_per_deal,
                ledger_account=ledger_account,
                resend=ResendPolicy(max_resends=resend, delay_seconds=resend_delay),
            )
        )
    except InvalidMassListError as exc:
        raise CliError("; ".join(map(str, exc.errors))) from None
    if not yes and not sys.stdin.isatty():
        raise CliError("not on a terminal: pass --yes to start without confirmation")
    progress = run_with_payouts(lambda payouts: _preview_then_start(payouts, request, say, yes))
    if progress is None:
        raise CliError("not started", exit_code=1)
    if as_json:
        emit_json(progress)
    else:
        console.print(f"started mass payout {progress.key}: {progress.state}")


def _read_recipients(
    csv_file: Path, currency: str, allow_duplicates: bool, say: Console
) -> Recipients:
    """The file's recipients, every row checked: its problems go to stderr, then a CliError."""
    try:
        data = csv_file.read_bytes()
    except OSError as exc:
        raise CliError(f"csv: cannot read {csv_file}: {exc.strerror}") from None
    parsed = parse_mass_csv(data, currency=currency, allow_duplicates=allow_duplicates)
    if not parsed.ok:
        for problem in parsed.errors:
            print(f"  {problem}", file=sys.stderr)
        raise CliError(f"csv: {len(parsed.errors)} problem(s) in {csv_file}; nothing was started")
    for warning in parsed.warnings:
        say.print(f"[yellow]warning[/] {warning}")
    return recipients_from_parsed(parsed)


async def _preview_then_start(
    payouts: Payouts, request: MassPayoutRequest, say: Console, yes: bool
) -> MassProgress | None:
    """Show the count, total, fee quote and balance; start once confirmed (None if not)."""
    preview = await payouts.mass.preview(request.currency, request.recipients)
    say.print(
        f"{preview.count} recipients, total {preview.total} {request.currency}, "
        f"fee quote {preview.fee}, balance {preview.balance}"
        + ("" if preview.enough else "  [red](short: the saga will wait for funds)[/]")
    )
    if not yes and not typer.confirm("Start this mass payout?"):
        return None
    return await payouts.mass.progress(await payouts.mass.start(request))


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
    """A live progress bar with the counts, until the mass payout ends."""
    progress = await payouts.mass.progress(mass_key)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(str(progress.state), total=progress.items, detail="")
        while True:
            bar.update(
                task,
                completed=progress.items - progress.counts.get(ItemState.PENDING, 0),
                description=str(progress.state),
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
