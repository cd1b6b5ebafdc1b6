"""What every CLI verb shares: one-line errors, argument parsing, and running against Temporal."""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import typer
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from calypso.currencies import parse_amount
from starter.api import KeyReusedError, PayoutEndedError, PayoutNotFoundError, Payouts
from starter.cli.exit_codes import BAD_INPUT, OPERATIONAL_FAILURE
from starter.service.settings import Settings


class CliError(Exception):
    """Printed as `payouts: <message>`; exit code 2 for bad input, 1 for operational failures."""

    def __init__(self, message: str, *, exit_code: int = BAD_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class NoWorkerError(Exception):
    """No worker polls the task queue, so nothing would answer (or move the saga); `then` says
    what became of the payout, e.g. that it is started and waits for one."""

    def __init__(self, then: str = "") -> None:
        super().__init__(then)
        self.then = then


def bounded(name: str, value: float, low: float, high: float | None = None) -> None:
    """Refuse an option outside [low, high] with a one-line reason naming it."""
    if value < low or (high is not None and value > high):
        span = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise CliError(f"{name}: must be {span}, got {value:g}")


ResultT = TypeVar("ResultT")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
KeyArgument = Annotated[str, typer.Argument(help="The payout's idempotency key (a UUID).")]


# A query, an update or a saga's end needs a worker; one that is up answers well within this.
# After it, the task queue's pollers tell "slow" from "nobody there" (and again every so often).
WORKER_GRACE_SECONDS = 3.0
WORKER_RECHECK_SECONDS = 15.0


def run_with_payouts(
    call: Callable[[Payouts], Awaitable[ResultT]], *, settings: Settings | None = None
) -> ResultT:
    """Run `call` against Temporal; every failure it can meet becomes one `CliError` here."""
    settings = settings or Settings.from_env()

    async def go() -> ResultT:
        return await call(await Payouts.connect(settings))

    try:
        return asyncio.run(go())
    except NoWorkerError as exc:
        then = f"; {exc.then}" if exc.then else ""
        raise CliError(no_worker_sentence(settings) + then, exit_code=OPERATIONAL_FAILURE) from exc
    except KeyReusedError as exc:
        raise CliError(str(exc)) from exc
    except (PayoutNotFoundError, PayoutEndedError) as exc:
        raise CliError(str(exc), exit_code=OPERATIONAL_FAILURE) from exc
    except WorkflowUpdateFailedError as exc:  # e.g. "too late to reschedule"
        raise CliError(str(exc.cause or exc), exit_code=OPERATIONAL_FAILURE) from exc
    except RPCError as exc:
        raise CliError(f"Temporal refused: {exc}", exit_code=OPERATIONAL_FAILURE) from exc
    except RuntimeError as exc:  # the Temporal client's connection errors
        message = " ".join(str(exc).split())  # one line, whatever the transport said
        raise CliError(f"cannot reach Temporal: {message}", exit_code=OPERATIONAL_FAILURE) from exc


def run_on_worker(
    settings: Settings,
    start: Callable[[Client], Awaitable[WorkflowHandle[Any, ResultT]]],
    *,
    noun: str,
    nothing_done: str,
    timeout: float,
) -> tuple[ResultT, str]:
    """Start a helper workflow that only a worker can run (it holds the secrets) and wait for
    its result, at most `timeout` seconds; its result and workflow id. With no worker polling,
    nothing is started (`nothing_done` says so)."""

    async def go(payouts: Payouts) -> tuple[ResultT, str]:
        await require_worker(payouts, nothing_done)
        handle = await start(payouts.client)
        try:
            async with asyncio.timeout(timeout):
                waiting = f"{noun} {handle.id} waits for one"
                return await needs_worker(payouts, handle.result(), waiting), handle.id
        except TimeoutError:
            raise CliError(
                f"{noun} {handle.id} has not finished after {timeout:g} s; it carries on and "
                "keeps its result (see it in the Temporal UI)",
                exit_code=OPERATIONAL_FAILURE,
            ) from None
        except WorkflowFailureError as exc:
            message = f"{noun} failed: {exc.cause or exc}"
            raise CliError(message, exit_code=OPERATIONAL_FAILURE) from exc

    return run_with_payouts(go, settings=settings)


def no_worker_sentence(settings: Settings) -> str:
    return (
        f"no worker is polling task queue {settings.task_queue!r} on {settings.temporal_address}"
        f" (namespace {settings.temporal_namespace}): start one with `payouts worker` and the same"
        " TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and PAYOUTS_TASK_QUEUE"
    )


async def require_worker(payouts: Payouts, then: str = "") -> None:
    """`NoWorkerError` at once when no worker polls the task queue: before a query, or a preview
    that would wait for one forever."""
    if not await payouts.has_worker():
        raise NoWorkerError(then)


async def needs_worker(payouts: Payouts, work: Awaitable[ResultT], then: str = "") -> ResultT:
    """`work` — a query, an update, a wait for the end — which only a worker can bring about.

    Waited for as long as it takes while a worker polls the task queue; `NoWorkerError` when it
    has not answered after `WORKER_GRACE_SECONDS` and none does, or when the server gave up on a
    query or an update that no worker took (instead of a raw RPC timeout)."""
    task = asyncio.ensure_future(work)
    try:
        patience = WORKER_GRACE_SECONDS
        while not (await asyncio.wait({task}, timeout=patience))[0]:
            if not await payouts.has_worker():
                raise NoWorkerError(then)
            patience = WORKER_RECHECK_SECONDS
        return task.result()
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise NoWorkerError(then) from exc
    except RPCError as exc:  # a query no worker answered: "Timeout expired"
        if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise NoWorkerError(then) from exc
        raise
    finally:
        task.cancel()


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


RequestedBy = Annotated[
    str | None,
    typer.Option(
        "--requested-by",
        help="Who asks for this payout (recorded; they may not approve it). "
        "Default: your login name.",
    ),
]


def requester(requested_by: str | None) -> str:
    """The requester to record: as given, else the login name of whoever runs the CLI."""
    name = (requested_by or "").strip() or getpass.getuser()
    return name
