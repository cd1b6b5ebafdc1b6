"""`payouts reconcile`: start a `Reconcile` workflow, wait for its report, print or write it.

The comparison runs on a worker (it holds the provider's secret and the ledger), so the command
first makes sure one polls the task queue, and starts nothing otherwise. Exit 0 when the provider,
the sagas and the ledger agree, 1 when they do not (or the run could not finish), 2 on bad input.
"""

from __future__ import annotations

import csv
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import simplejson
import typer
from rich.table import Table
from temporalio.client import Client, WorkflowHandle

from starter.cli.common import (
    CliError,
    JsonFlag,
    bounded,
    run_on_worker,
    when_of,
)
from starter.cli.exit_codes import OK, OPERATIONAL_FAILURE
from starter.cli.output import console, emit_json
from starter.service.reconcile_schedule import parse_every
from starter.service.settings import Settings
from workflows.reconcile import ReconcileWorkflow
from workflows.reconcile_models import CSV_COLUMNS, ReconcileInput, ReconcileReport, csv_row

FORMATS = {".json": "json", ".csv": "csv"}
DISAGREE = 1  # the exit code of a report with discrepancies
SHOWN = 50  # discrepancies printed on a terminal; --output and --json carry them all


def register(app: typer.Typer) -> None:
    app.command()(reconcile)


def reconcile(
    since: Annotated[
        str | None,
        typer.Option(help="Compare from this ISO-8601 time with a time zone (default: a day ago)."),
    ] = None,
    as_json: JsonFlag = False,
    output: Annotated[
        Path | None, typer.Option(help="Also write the report to this file: .json or .csv.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the report.")] = 600.0,
) -> None:
    """Compare the provider's payouts, the sagas and the ledger (a worker runs it).

    Exit codes: 0 they agree, 1 they do not (or the run could not finish), 2 bad input."""
    request = ReconcileInput(since=since_of(since))
    if output is not None and output.suffix.lower() not in FORMATS:
        raise CliError(f"output: {str(output)!r} must end in .json or .csv")
    bounded("timeout", timeout, 1)
    settings = Settings.from_env()
    report, workflow_id = _run(settings, request, timeout)
    if output is not None:
        write_report(report, output)
    if as_json:
        emit_json(report)
    else:
        link = f"{settings.ui_url}/namespaces/{settings.temporal_namespace}/workflows/{workflow_id}"
        print_report(report, link)
    raise typer.Exit(OK if report.clean else DISAGREE)


def since_of(text: str | None) -> datetime | None:
    since = when_of("since", text)
    if since is None:
        return None
    if since.tzinfo is None:
        raise CliError(f"since: {text!r} has no time zone, e.g. 2026-05-01T00:00Z")
    if since > datetime.now(UTC):
        raise CliError(f"since: {text!r} is in the future")
    return since


def every_of(text: str) -> timedelta | None:
    """`--reconcile-every` of `payouts setup`: an interval, or None for off (exit 2 if bad)."""
    try:
        return parse_every(text)
    except ValueError as exc:
        raise CliError(f"reconcile-every: {exc}") from None


def _run(
    settings: Settings, request: ReconcileInput, timeout: float
) -> tuple[ReconcileReport, str]:
    """The comparison runs on a worker, next to the provider's secret and the ledger."""

    async def start(client: Client) -> WorkflowHandle[Any, ReconcileReport]:
        return await client.start_workflow(
            ReconcileWorkflow.run,
            request,
            id=f"reconcile-{uuid.uuid4()}",
            task_queue=settings.task_queue,
            static_summary="Reconcile provider, sagas and ledger (payouts reconcile)",
        )

    return run_on_worker(
        settings,
        start,
        noun="reconciliation",
        nothing_done="nothing was compared (a worker compares)",
        timeout=timeout,
    )


def write_report(report: ReconcileReport, path: Path) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as file:
            if FORMATS[path.suffix.lower()] == "json":
                value = report.model_dump(mode="python")
                file.write(simplejson.dumps(value, use_decimal=True, default=_plain, indent=2))
                file.write("\n")
                return
            writer = csv.DictWriter(file, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(csv_row(found) for found in report.discrepancies)
    except OSError as exc:
        message = f"output: cannot write {str(path)!r}: {exc.strerror}"
        raise CliError(message, exit_code=OPERATIONAL_FAILURE) from exc


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_report(report: ReconcileReport, link: str) -> None:
    verdict = (
        "[bold green]clean[/]" if report.clean else f"[bold red]{report.total} discrepancies[/]"
    )
    console.print(f"Reconciliation since {report.since.isoformat()}: {verdict}", soft_wrap=True)
    console.print(
        f"  provider: {report.provider_payouts} payouts, {report.provider_mass_payouts} mass "
        f"payouts · sagas: {report.sagas} · in flight: {report.in_flight} · reservations "
        f"checked: {report.reservations_checked}"
        + ("" if report.ledger_checked else " (this ledger cannot be listed: not compared)")
    )
    if not report.clean:
        console.print("  " + " · ".join(f"{kind} {n}" for kind, n in report.counts.items() if n))
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for column in ("kind", "saga", "provider", "detail"):
            table.add_column(column, overflow="fold")
        for found in report.discrepancies[:SHOWN]:
            provider = f"{found.provider_kind} {found.provider_id}" if found.provider_id else ""
            table.add_row(found.kind.value, found.workflow_id or "", provider, found.detail)
        console.print(table)
        if report.total > SHOWN:
            console.print(f"  … and {report.total - SHOWN} more (--output or --json has them all)")
    console.print(f"  report: {link}", soft_wrap=True)
