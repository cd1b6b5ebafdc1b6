"""`payouts callbacks`: the merchant callbacks kept in PAYOUTS_CALLBACK_STORE.

`list` reads the store and needs no worker. `replay` never sends anything itself (the callback
secret is the worker's): it starts a `CallbackReplay` workflow that a worker runs, and waits for
its report. A replayed event keeps its event id, so the merchant dedupes it.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from temporalio.client import Client, WorkflowHandle

from activities.callback_store import (
    CallbackSelection,
    CallbackStoreUnavailableError,
    StoredCallback,
)
from activities.callback_store_sqlite import SqliteCallbackStore
from starter.cli.common import (
    CliError,
    JsonFlag,
    bounded,
    key_of,
    run_on_worker,
)
from starter.cli.exit_codes import OPERATIONAL_FAILURE
from starter.cli.output import console, emit_json
from starter.service.settings import Settings
from workflows.callback_replay import CallbackReplayWorkflow
from workflows.callback_replay_models import REPLAY_WORKFLOW_PREFIX, CallbackReplayReport

app = typer.Typer(
    help="Merchant callbacks: which were delivered, which were not; replay them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="callbacks")


KeyOption = Annotated[str | None, typer.Option("--key", help="Only this payout's (its key).")]
UndeliveredFlag = Annotated[
    bool, typer.Option("--undelivered", help="Only events kept UNDELIVERED.")
]


@app.command(name="list")
def list_callbacks(
    undelivered: UndeliveredFlag = False,
    key: KeyOption = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Recorded callbacks and their delivery state.

    Newest first; --json adds every delivery attempt."""
    bounded("limit", limit, 1)
    payout_key = str(key_of(key)) if key else None
    selection = (
        CallbackSelection(payout_key=payout_key, undelivered_only=undelivered)
        if payout_key or undelivered
        else None
    )
    path = Path(Settings.from_env().callback_store)
    found: list[StoredCallback] = []
    if path.exists():  # reading never creates the store
        found = asyncio.run(_find(path, selection, limit, with_attempts=as_json))
    if as_json:
        emit_json(list(found))
        return
    if not found:
        console.print(f"no callbacks recorded in {path}" + (" match" if selection else ""))
        return
    _print_callbacks(found)


@app.command()
def replay(
    event_id: Annotated[
        str | None, typer.Argument(metavar="EVENT_ID", help="The event id to send again.")
    ] = None,
    key: KeyOption = None,
    undelivered: UndeliveredFlag = False,
    limit: Annotated[int, typer.Option(help="At most this many events.")] = 1000,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the report.")] = 300.0,
    as_json: JsonFlag = False,
) -> None:
    """Resend stored callbacks through a worker.

    Same event ids, so the merchant dedupes; exit 1 unless every event was delivered."""
    if event_id and (key or undelivered):
        raise CliError("replay: give an EVENT_ID, or --key and/or --undelivered, not both")
    if not (event_id or key or undelivered):
        raise CliError("replay: give an EVENT_ID, --key KEY or --undelivered")
    bounded("limit", limit, 1)
    bounded("timeout", timeout, 1)
    selection = CallbackSelection(
        event_ids=[event_id] if event_id else [],
        payout_key=str(key_of(key)) if key else None,
        undelivered_only=undelivered,
        limit=limit,
    )
    report = _run_replay(Settings.from_env(), selection, timeout)
    if as_json:
        emit_json(report)
    else:
        _print_report(report)
    if not report.complete:
        raise typer.Exit(OPERATIONAL_FAILURE)


async def _find(
    path: Path, selection: CallbackSelection | None, limit: int, *, with_attempts: bool
) -> list[StoredCallback]:
    store = SqliteCallbackStore(path)
    try:
        return await store.find(
            selection, limit=limit, newest_first=True, with_attempts=with_attempts
        )
    except CallbackStoreUnavailableError as exc:
        raise CliError(str(exc), exit_code=OPERATIONAL_FAILURE) from exc
    finally:
        await store.close()


def _run_replay(
    settings: Settings, selection: CallbackSelection, timeout: float
) -> CallbackReplayReport:
    async def start(client: Client) -> WorkflowHandle[Any, CallbackReplayReport]:
        return await client.start_workflow(
            CallbackReplayWorkflow.run,
            selection,
            id=f"{REPLAY_WORKFLOW_PREFIX}{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )

    report, _ = run_on_worker(
        settings,
        start,
        noun="replay",
        nothing_done="nothing was resent (a worker sends callbacks)",
        timeout=timeout,
    )
    return report


def _print_callbacks(found: list[StoredCallback]) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("event id", no_wrap=True)  # whole: it is what `replay` takes
    for column in ("state", "delivery", "attempts", "last attempt"):
        table.add_column(column, no_wrap=True)
    table.add_column("last error", overflow="fold")
    for stored in found:
        last = stored.last_attempt_at
        table.add_row(
            stored.event_id,
            stored.state,
            stored.delivery,
            str(stored.attempts),
            last.isoformat(timespec="seconds") if last else "",
            (stored.last_error or "")[:120],
        )
    console.print(table)


def _print_report(report: CallbackReplayReport) -> None:
    if not report.outcomes and not report.missing:
        console.print("nothing to replay")
        return
    for outcome in report.outcomes:
        shown = "delivered" if outcome.delivered else "not delivered"
        status = f"HTTP {outcome.http_status}" if outcome.http_status else ""
        error = "" if outcome.delivered else (outcome.error or "")
        console.print(f"{shown:<14} {outcome.event_id}  {status} {error}".rstrip(), soft_wrap=True)
    for event_id in report.missing:
        console.print(f"{'not found':<14} {event_id}", soft_wrap=True)
    console.print(f"{len(report.delivered)} of {len(report.outcomes)} delivered")
    if report.more:
        console.print("more events match than --limit: run it again for the rest")
