"""CLI verbs that act on payout sagas, single or mass: pay, status, result, cancel, reschedule,
list."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from starter.api import PayoutRequest, Payouts, checked
from starter.api.payouts import known_currency, saga_kind, saga_state
from starter.cli import exit_codes
from starter.cli.common import (
    CliError,
    JsonFlag,
    KeyArgument,
    RequestedBy,
    amount_of,
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
    print_payout_list,
    print_result,
    print_status,
    ui_link,
)
from starter.service.settings import Settings
from workflows.keys import single_payout_workflow_id
from workflows.mass_models import MassCancelResult, MassPayoutResult, MassProgress
from workflows.payout_models import (
    CancelResult,
    PayoutResult,
    PayoutStatus,
    RescheduleResult,
    ResendPolicy,
)


def register(app: typer.Typer) -> None:
    for command in (pay, status, result):  # they report how a payout ended in their exit code
        app.command(epilog=exit_codes.HELP)(command)
    app.command()(cancel)
    app.command()(reschedule)
    app.command(name="list")(list_payouts)


def pay(
    to: Annotated[str, typer.Option(help="Recipient deposit address.")],
    amount: Annotated[str, typer.Option(help="Exact amount, e.g. 25.50 (no rounding).")],
    currency: Annotated[str, typer.Option(help="Currency code, e.g. USDT_TRX.")],
    key: Annotated[
        str | None,
        typer.Option(help="Idempotency key (UUID); generated and printed first if absent."),
    ] = None,
    comment: Annotated[str | None, typer.Option(help="Comment shown at the provider.")] = None,
    external_id: Annotated[str | None, typer.Option(help="Your reference for this payout.")] = None,
    execution_date: Annotated[
        str | None, typer.Option(help="Pay at this ISO-8601 time (not in the past).")
    ] = None,
    max_fee: Annotated[
        str | None, typer.Option(help="Reject if the fee quote is above this.")
    ] = None,
    ledger_account: Annotated[
        str, typer.Option(help="Ledger sub-account to reserve from.")
    ] = "default",
    resend: Annotated[int, typer.Option(help="Resend a FAILED payout up to N times (0-9).")] = 0,
    resend_delay: Annotated[
        float, typer.Option(help="Seconds before a resend (at least 1).")
    ] = 300.0,
    wait: Annotated[
        bool, typer.Option(help="Wait for the final outcome; exit with its code (below).")
    ] = False,
    requested_by: RequestedBy = None,
    as_json: JsonFlag = False,
) -> None:
    """Start a single payout saga (idempotent by --key).

    A generated key is printed before anything connects, and the saga's key and Temporal UI link
    as soon as Temporal accepts the start: a run that fails after that is retried with --key.
    """
    bounded("resend", resend, 0, 9)
    bounded("resend_delay", resend_delay, 1)
    payout_key = key_of(key) if key else uuid.uuid4()
    try:  # the API's checks, before connecting: bad input never waits on the network
        request = checked(
            PayoutRequest(
                deposit_address=to,
                amount=amount_of("amount", amount),
                currency=currency.upper(),
                idempotency_key=payout_key,
                comment=comment,
                external_id=external_id,
                execution_date=when_of("execution_date", execution_date),
                max_fee=amount_of("max_fee", max_fee),
                ledger_account=ledger_account,
                requested_by=requester(requested_by),
                resend=ResendPolicy(max_resends=resend, delay_seconds=resend_delay),
            )
        )
    except ValueError as exc:  # InvalidPayoutError lists every problem on its one line
        raise CliError(str(exc).splitlines()[0]) from None
    settings = Settings.from_env()
    say = people(as_json)
    if key is None:
        announce_key(say, "payout", payout_key)

    async def start(payouts: Payouts) -> PayoutStatus | MassProgress:
        started = await payouts.start(request)
        link = ui_link(settings, single_payout_workflow_id(started))
        announce_started(say, "payout", started, link)
        then = f"payout {started} is started and runs once one does"
        await require_worker(payouts, then)  # the status query below needs one
        if wait:
            await needs_worker(payouts, payouts.result(started), then)
        return await needs_worker(payouts, payouts.status(started), then)

    outcome = run_with_payouts(start, settings=settings)
    emit_json(outcome) if as_json else print_status(outcome)
    if wait:
        raise typer.Exit(exit_codes.of_state(outcome.state))


def status(
    key: KeyArgument,
    follow: Annotated[bool, typer.Option(help="Keep watching until the payout ends.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Where a payout is (single or mass); --follow shows a live progress bar for a mass one.

    The exit code tells how a payout that has ended ended (below); 0 while it runs.
    """
    payout_key = key_of(key)

    async def look(payouts: Payouts) -> PayoutStatus | MassProgress:
        current = await needs_worker(payouts, payouts.status(payout_key))
        if not follow:
            return current
        if isinstance(current, MassProgress):
            if as_json:
                return current
            return await needs_worker(payouts, follow_progress(payouts, payout_key))
        await needs_worker(payouts, payouts.result(payout_key))
        return await needs_worker(payouts, payouts.status(payout_key))

    shown = run_with_payouts(look)
    emit_json(shown) if as_json else print_status(shown)
    raise typer.Exit(exit_codes.of_state(shown.state))


def result(key: KeyArgument, as_json: JsonFlag = False) -> None:
    """Wait for a payout (single or mass) to end, then print how it ended."""
    payout_key = key_of(key)

    async def wait(payouts: Payouts) -> PayoutResult | MassPayoutResult:
        then = f"payout {payout_key} has not ended"
        return await needs_worker(payouts, payouts.result(payout_key), then)

    ended = run_with_payouts(wait)
    emit_json(ended) if as_json else print_result(ended)
    raise typer.Exit(exit_codes.of_state(ended.state))


def cancel(
    key: KeyArgument,
    reason: Annotated[
        str, typer.Option(help="Why; sent to the provider.")
    ] = "canceled by operator",
    as_json: JsonFlag = False,
) -> None:
    """Cancel a payout: unsent, it never reaches the provider; sent, the provider decides."""
    payout_key = key_of(key)

    async def ask(payouts: Payouts) -> CancelResult | MassCancelResult:
        await require_worker(payouts, "nothing was sent")  # an update would wait for one
        return await needs_worker(payouts, payouts.cancel(payout_key, reason), _pending("cancel"))

    outcome = run_with_payouts(ask)
    if as_json:
        emit_json(outcome)
    else:
        console.print(f"{'canceled' if outcome.accepted else 'not canceled'}: {outcome.message}")
        if isinstance(outcome, MassCancelResult) and outcome.not_cancelable:
            console.print(f"items no longer cancelable: {outcome.not_cancelable}")
    if not outcome.accepted:
        raise typer.Exit(exit_codes.OPERATIONAL_FAILURE)


def reschedule(
    key: KeyArgument,
    execution_date: Annotated[str, typer.Option(help="New ISO-8601 execution date.")],
    as_json: JsonFlag = False,
) -> None:
    """Move the execution date of a payout that has not been sent yet."""
    payout_key = key_of(key)
    when = when_of("execution_date", execution_date)
    if when is None or when.tzinfo is None:
        raise CliError("execution_date: must include a timezone, e.g. 2026-12-01T09:00Z")

    async def ask(payouts: Payouts) -> RescheduleResult:
        await require_worker(payouts, "nothing was sent")  # an update would wait for one
        moved = payouts.reschedule(payout_key, when)
        return await needs_worker(payouts, moved, _pending("reschedule"))

    moved = run_with_payouts(ask)
    emit_json(moved) if as_json else console.print(f"{moved.message}: {moved.execution_date}")


def _pending(update: str) -> str:
    """What became of an update no worker took: the server keeps it for the next worker."""
    return f"the {update} was sent and may still apply once a worker runs (see `payouts status`)"


def list_payouts(
    kind: Annotated[str | None, typer.Option(help="Only this kind: single or mass.")] = None,
    state: Annotated[str | None, typer.Option(help="Only this saga state.")] = None,
    currency: Annotated[str | None, typer.Option(help="Only this currency.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (at least 1).")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List payouts and mass payouts, newest first (their search attributes and memo).

    Columns: key, kind, state, amount (a mass payout's total), currency, created, execution
    date; '?' where a saga started before this version does not say.
    """
    bounded("limit", limit, 1)
    try:  # every filter checked before connecting
        kind = saga_kind(kind) if kind else None
        state = saga_state(state) if state else None
        currency = known_currency(currency) if currency else None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    found = run_with_payouts(
        lambda payouts: payouts.list(kind=kind, state=state, currency=currency, limit=limit)
    )
    if as_json:
        emit_json(list(found))
        return
    print_payout_list(found)
