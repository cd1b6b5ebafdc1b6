"""CLI verbs that act on payout sagas: pay, status, cancel, reschedule, list."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, TypeVar

import typer

from activities.currencies import parse_amount
from workflows.payout_models import PayoutStatus, ResendPolicy

from .api import PayoutRequest, Payouts, validate
from .cli_errors import CliError, bounded
from .cli_output import console, emit_json, print_status
from .settings import Settings

ResultT = TypeVar("ResultT")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
KeyArgument = Annotated[str, typer.Argument(help="The payout's idempotency key (a UUID).")]


def register(app: typer.Typer) -> None:
    for command in (pay, status, cancel, reschedule, list_payouts):
        app.command(name="list" if command is list_payouts else None)(command)


def _run(call: Callable[[Payouts], Awaitable[ResultT]]) -> ResultT:
    async def go() -> ResultT:
        return await call(await Payouts.connect(Settings.from_env()))

    try:
        return asyncio.run(go())
    except RuntimeError as exc:  # the Temporal client's connection errors
        raise CliError(f"cannot reach Temporal: {exc}", exit_code=1) from exc


def _key(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise CliError(f"key: {text!r} is not a UUID") from None


def _amount(name: str, text: str | None) -> Decimal | None:
    try:
        return None if text is None else parse_amount(text)
    except ValueError as exc:
        raise CliError(f"{name}: {exc}") from None


def _when(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"{name}: {text!r} is not an ISO-8601 date, e.g. 2026-12-01T09:00Z"
        ) from None


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
    try:
        request = PayoutRequest(
            deposit_address=to,
            amount=_amount("amount", amount),
            currency=currency.upper(),
            idempotency_key=_key(key) if key else None,
            comment=comment,
            external_id=external_id,
            execution_date=_when("execution_date", execution_date),
            max_fee=_amount("max_fee", max_fee),
            ledger_account=ledger_account,
            resend=ResendPolicy(max_resends=resend, delay_seconds=resend_delay),
        )
    except ValueError as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    problems = validate(request)  # before connecting: bad input never waits on the network
    if problems:
        raise CliError("; ".join(map(str, problems)))

    async def start(payouts: Payouts) -> PayoutStatus:
        started = await payouts.start(request)
        if wait:
            await payouts.result(started)
        return await payouts.status(started)

    outcome = _run(start)
    emit_json(outcome) if as_json else print_status(outcome)


def status(key: KeyArgument, as_json: JsonFlag = False) -> None:
    """Show where a payout is: state, provider state, fee, hash, attempts and timeline."""
    payout_key = _key(key)
    result = _run(lambda payouts: payouts.status(payout_key))
    emit_json(result) if as_json else print_status(result)


def cancel(
    key: KeyArgument,
    reason: Annotated[
        str, typer.Option(help="Why; sent to the provider.")
    ] = "canceled by operator",
    as_json: JsonFlag = False,
) -> None:
    """Cancel a payout: unsent, it never reaches the provider; sent, the provider decides."""
    payout_key = _key(key)
    result = _run(lambda payouts: payouts.cancel(payout_key, reason))
    if as_json:
        emit_json(result)
    else:
        console.print(f"{'canceled' if result.accepted else 'not canceled'}: {result.message}")
    if not result.accepted:
        raise typer.Exit(1)


def reschedule(
    key: KeyArgument,
    execution_date: Annotated[str, typer.Option(help="New ISO-8601 execution date.")],
    as_json: JsonFlag = False,
) -> None:
    """Move the execution date of a payout that has not been sent yet."""
    payout_key = _key(key)
    when = _when("execution_date", execution_date)
    if when is None or when.tzinfo is None:
        raise CliError("execution_date: must include a timezone, e.g. 2026-12-01T09:00Z")
    result = _run(lambda payouts: payouts.reschedule(payout_key, when))
    emit_json(result) if as_json else console.print(f"{result.message}: {result.execution_date}")


def list_payouts(
    state: Annotated[str | None, typer.Option(help="Only this saga state.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (at least 1).")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List payout sagas, newest first (uses the PayoutState search attribute)."""
    bounded("limit", limit, 1)
    found = _run(lambda payouts: payouts.list(state=state, limit=limit))
    if as_json:
        emit_json(list(found))
        return
    for item in found:
        state, currency = item.state or "?", item.currency or ""
        console.print(f"{item.key}  {state:<18} {currency:<10} {item.provider_id or ''}")
