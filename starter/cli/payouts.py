"""CLI verbs that act on payout sagas, single or mass: pay, status, cancel, reschedule, list."""

from __future__ import annotations

from typing import Annotated

import typer

from starter.api import PayoutRequest, Payouts, checked
from starter.api.payouts import saga_state
from starter.cli.common import (
    CliError,
    JsonFlag,
    KeyArgument,
    amount_of,
    bounded,
    key_of,
    run_with_payouts,
    when_of,
)
from starter.cli.mass import follow_progress
from starter.cli.output import console, emit_json, print_status
from workflows.mass_models import MassCancelResult, MassProgress
from workflows.payout_models import PayoutStatus, ResendPolicy


def register(app: typer.Typer) -> None:
    for command in (pay, status, cancel, reschedule, list_payouts):
        app.command(name="list" if command is list_payouts else None)(command)


def pay(
    to: Annotated[str, typer.Option(help="Recipient deposit address.")],
    amount: Annotated[str, typer.Option(help="Exact amount, e.g. 25.50 (no rounding).")],
    currency: Annotated[str, typer.Option(help="Currency code, e.g. USDT_TRX.")],
    key: Annotated[
        str | None, typer.Option(help="Idempotency key (UUID); generated if absent.")
    ] = None,
    comment: Annotated[str | None, typer.Option(help="Comment shown at the provider.")] = None,
    external_id: Annotated[str | None, typer.Option(help="Your reference for this payout.")] = None,
    execution_date: Annotated[str | None, typer.Option(help="Pay at this ISO-8601 time.")] = None,
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
    wait: Annotated[bool, typer.Option(help="Wait for the final outcome.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Start a single payout saga (idempotent by --key)."""
    bounded("resend", resend, 0, 9)
    bounded("resend_delay", resend_delay, 1)
    try:  # the API's checks, before connecting: bad input never waits on the network
        request = checked(
            PayoutRequest(
                deposit_address=to,
                amount=amount_of("amount", amount),
                currency=currency.upper(),
                idempotency_key=key_of(key) if key else None,
                comment=comment,
                external_id=external_id,
                execution_date=when_of("execution_date", execution_date),
                max_fee=amount_of("max_fee", max_fee),
                ledger_account=ledger_account,
                resend=ResendPolicy(max_resends=resend, delay_seconds=resend_delay),
            )
        )
    except ValueError as exc:  # InvalidPayoutError lists every problem on its one line
        raise CliError(str(exc).splitlines()[0]) from None

    async def start(payouts: Payouts) -> PayoutStatus | MassProgress:
        started = await payouts.start(request)
        if wait:
            await payouts.result(started)
        return await payouts.status(started)

    outcome = run_with_payouts(start)
    emit_json(outcome) if as_json else print_status(outcome)


def status(
    key: KeyArgument,
    follow: Annotated[bool, typer.Option(help="Keep watching until the payout ends.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Where a payout is (single or mass); --follow shows a live progress bar for a mass one."""
    payout_key = key_of(key)

    async def look(payouts: Payouts) -> PayoutStatus | MassProgress:
        current = await payouts.status(payout_key)
        if not follow:
            return current
        if isinstance(current, MassProgress):
            return current if as_json else await follow_progress(payouts, payout_key)
        await payouts.result(payout_key)
        return await payouts.status(payout_key)

    result = run_with_payouts(look)
    emit_json(result) if as_json else print_status(result)


def cancel(
    key: KeyArgument,
    reason: Annotated[
        str, typer.Option(help="Why; sent to the provider.")
    ] = "canceled by operator",
    as_json: JsonFlag = False,
) -> None:
    """Cancel a payout: unsent, it never reaches the provider; sent, the provider decides."""
    payout_key = key_of(key)
    result = run_with_payouts(lambda payouts: payouts.cancel(payout_key, reason))
    if as_json:
        emit_json(result)
    else:
        console.print(f"{'canceled' if result.accepted else 'not canceled'}: {result.message}")
        if isinstance(result, MassCancelResult) and result.not_cancelable:
            console.print(f"items no longer cancelable: {result.not_cancelable}")
    if not result.accepted:
        raise typer.Exit(1)


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
    result = run_with_payouts(lambda payouts: payouts.reschedule(payout_key, when))
    emit_json(result) if as_json else console.print(f"{result.message}: {result.execution_date}")


def list_payouts(
    state: Annotated[str | None, typer.Option(help="Only this saga state.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (at least 1).")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List payout sagas, newest first (uses the PayoutState search attribute)."""
    bounded("limit", limit, 1)
    try:
        wanted = saga_state(state) if state else None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    found = run_with_payouts(lambda payouts: payouts.list(state=wanted, limit=limit))
    if as_json:
        emit_json(list(found))
        return
    for item in found:
        shown, currency = item.state or "?", item.currency or ""
        console.print(f"{item.key}  {shown:<18} {currency:<10} {item.provider_id or ''}")
