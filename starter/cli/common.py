"""What every CLI verb shares: one-line errors, argument parsing, and running against Temporal."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, TypeVar

import typer
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from calypso.currencies import parse_amount
from starter.api import KeyReusedError, PayoutEndedError, PayoutNotFoundError, Payouts
from starter.service.settings import Settings


class CliError(Exception):
    """Printed as `payouts: <message>`; exit code 2 for bad input, 1 for operational failures."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def bounded(name: str, value: float, low: float, high: float | None = None) -> None:
    """Refuse an option outside [low, high] with a one-line reason naming it."""
    if value < low or (high is not None and value > high):
        span = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise CliError(f"{name}: must be {span}, got {value:g}")


ResultT = TypeVar("ResultT")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
KeyArgument = Annotated[str, typer.Argument(help="The payout's idempotency key (a UUID).")]


def run_with_payouts(call: Callable[[Payouts], Awaitable[ResultT]]) -> ResultT:
    async def go() -> ResultT:
        return await call(await Payouts.connect(Settings.from_env()))

    try:
        return asyncio.run(go())
    except KeyReusedError as exc:
        raise CliError(str(exc)) from exc
    except (PayoutNotFoundError, PayoutEndedError) as exc:
        raise CliError(str(exc), exit_code=1) from exc
    except WorkflowUpdateFailedError as exc:  # e.g. "too late to reschedule"
        raise CliError(str(exc.cause or exc), exit_code=1) from exc
    except RPCError as exc:
        raise CliError(f"Temporal refused: {exc}", exit_code=1) from exc
    except RuntimeError as exc:  # the Temporal client's connection errors
        raise CliError(f"cannot reach Temporal: {exc}", exit_code=1) from exc


def key_of(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise CliError(f"key: {text!r} is not a UUID") from None


def amount_of(name: str, text: str | None) -> Decimal | None:
    try:
        return None if text is None else parse_amount(text)
    except ValueError as exc:
        raise CliError(f"{name}: {exc}") from None


def when_of(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"{name}: {text!r} is not an ISO-8601 date, e.g. 2026-12-01T09:00Z"
        ) from None
