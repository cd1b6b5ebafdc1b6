"""CLI verbs for mass payouts: `mass` (from a CSV) and `mass-report`; `status` follows them."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from starter.api import InvalidMassListError, MassPayoutRequest, Payouts, checked, parse_mass_csv
from starter.api.mass import recipients_from_parsed
from starter.cli import exit_codes
from starter.cli.common import (
    CliError,
    JsonFlag,
    RequestedBy,
    bounded,
    key_of,
    needs_worker,
    requester,
    require_worker,
    run_with_payouts,
    when_of,
)
from starter.cli.mass_progress import follow_progress
from starter.cli.output import (
    announce_key,
    announce_started,
    console,
    emit_json,
    people,
    print_mass_progress,
    ui_link,
)
from starter.service.settings import Settings
from workflows.keys import mass_payout_workflow_id
from workflows.mass_models import MassProgress, Recipients
from workflows.payout_models import ResendPolicy

# A list can have thousands of bad rows: the first ones show what is wrong, the count the rest.
SHOWN_PROBLEMS = 50


def register(app: typer.Typer) -> None:
    app.command(name="mass", epilog=exit_codes.HELP)(mass)


def mass(
    csv_file: Annotated[
        Path, typer.Option("--csv", help="Recipients: address, amount[, comment[, reference]].")
    ],
    currency: Annotated[str, typer.Option(help="One currency for the whole list, e.g. USDT_TRX.")],
    name: Annotated[str, typer.Option(help="A name for this payout, shown at the provider.")],
    comment: Annotated[str | None, typer.Option(help="Comment shown at the provider.")] = None,
    execution_date: Annotated[
        str | None, typer.Option(help="Pay at this ISO-8601 time (not in the past).")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(help="Idempotency key (UUID); generated and printed first if absent."),
    ] = None,
    allow_duplicates: Annotated[bool, typer.Option(help="Accept the same address twice.")] = False,
    items_per_deal: Annotated[
        int | None, typer.Option(help="Items per provider deal (default: the currency's limit).")
    ] = None,
    resend: Annotated[int, typer.Option(help="Resend failed items up to N times (0-9).")] = 0,
    resend_delay: Annotated[float, typer.Option(help="Seconds before a resend (>= 1).")] = 300.0,
    ledger_account: Annotated[str, typer.Option(help="Ledger sub-account.")] = "default",
    yes: Annotated[bool, typer.Option("--yes", help="Start without asking.")] = False,
    requested_by: RequestedBy = None,
    wait: Annotated[
        bool, typer.Option(help="Wait for the final outcome; exit with its code (below).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Pay a list of recipients from a CSV file: every row is checked before anything starts.

    A generated key is printed before anything connects, and the saga's key and Temporal UI link
    as soon as Temporal accepts the start: a run that fails after that is retried with --key.
    """
    bounded("resend", resend, 0, 9)
    bounded("resend_delay", resend_delay, 1)
    if items_per_deal is not None:
        bounded("items_per_deal", items_per_deal, 1)
    # With --json, stdout carries exactly one JSON document; people's lines go to stderr.
    say = people(as_json)
    mass_key = key_of(key) if key else uuid.uuid4()
    try:  # the API's checks, before connecting (the rows are checked as they are read)
        request = checked(
            MassPayoutRequest(
                currency=currency.upper(),
                recipients=_read_recipients(csv_file, currency.upper(), allow_duplicates, say),
                name=name,
                comment=comment,
                idempotency_key=mass_key,
                execution_date=when_of("execution_date", execution_date),
                items_per_deal=items_per_deal,
                ledger_account=ledger_account,
                requested_by=requester(requested_by),
                resend=ResendPolicy(max_resends=resend, delay_seconds=resend_delay),
            )
        )
    except InvalidMassListError as exc:
        raise CliError("; ".join(_shown(list(map(str, exc.errors))))) from None
    if not yes and not sys.stdin.isatty():
        raise CliError("not on a terminal: pass --yes to start without confirmation")
    settings = Settings.from_env()
    if key is None:
        announce_key(say, "mass payout", mass_key)

    async def run(payouts: Payouts) -> MassProgress | None:
        # The fee preview runs on a worker too, and would wait for one forever.
        await require_worker(payouts, "nothing was started")
        started = await _preview_then_start(payouts, request, say, yes)
        if started is None:
            return None
        link = ui_link(settings, mass_payout_workflow_id(started))
        announce_started(say, "mass payout", started, link)
        then = f"mass payout {started} is started and runs once one does"
        if wait and not as_json:
            return await needs_worker(payouts, follow_progress(payouts, started), then)
        if wait:
            await needs_worker(payouts, payouts.mass.result(started), then)
        return await needs_worker(payouts, payouts.mass.progress(started), then)

    progress = run_with_payouts(run, settings=settings)
    if progress is None:
        raise CliError("not started", exit_code=exit_codes.OPERATIONAL_FAILURE)
    if as_json:
        emit_json(progress)
    elif wait:
        print_mass_progress(progress)
    else:
        console.print(f"mass payout {progress.key}: {progress.state}")
    if wait:
        raise typer.Exit(exit_codes.of_state(progress.state))


def _shown(problems: list[str]) -> list[str]:
    """The first `SHOWN_PROBLEMS` problems, then how many more there are."""
    if len(problems) <= SHOWN_PROBLEMS:
        return problems
    return [*problems[:SHOWN_PROBLEMS], f"… and {len(problems) - SHOWN_PROBLEMS} more"]


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
        for problem in _shown([str(error) for error in parsed.errors]):
            print(f"  {problem}", file=sys.stderr)
        raise CliError(f"csv: {len(parsed.errors)} problem(s) in {csv_file}; nothing was started")
    for warning in parsed.warnings:
        say.print(f"[yellow]warning[/] {warning}")
    return recipients_from_parsed(parsed)


async def _preview_then_start(
    payouts: Payouts, request: MassPayoutRequest, say: Console, yes: bool
) -> uuid.UUID | None:
    """Show the count, total, fee quote and balance, and the ledger's available amount; start
    once confirmed and return the key (None if not). A ledger that cannot cover the list starts
    nothing."""
    preview = await payouts.mass.preview(
        request.currency, request.recipients, ledger_account=request.ledger_account
    )
    ledger = (
        f"ledger {preview.ledger_account!r} available {preview.ledger_available}"
        if preview.ledger_available is not None
        else f"ledger {preview.ledger_note}"
    )
    say.print(
        f"{preview.count} recipients, total {preview.total} {request.currency}, "
        f"fee quote {preview.fee}, balance {preview.balance}, {ledger}"
        + ("" if preview.enough else "  [red](short: the saga will wait for funds)[/]")
    )
    if preview.ledger_short:  # the saga would end REJECTED at its first step
        reference = f"topup-{request.idempotency_key or uuid.uuid4()}"
        raise CliError(f"ledger: nothing was started: {preview.ledger_refusal(reference)}")
    if not yes and not typer.confirm("Start this mass payout?"):
        return None
    return await payouts.mass.start(request)
