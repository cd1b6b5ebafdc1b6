"""`payouts ledger release`: a reservation goes back to available only once the saga that holds
it has ended or is gone — asked of Temporal, never guessed — and never once it is settled."""

from __future__ import annotations

from decimal import Decimal

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.ledger import EntryState, ReleaseRequest
from activities.ledger.shortfall import total_of
from starter.cli.common import CliError
from starter.cli.ledger_books import Books
from starter.cli.ledger_views import ITEM_INFIX, Released, saga_of
from starter.service.settings import Settings

RELEASE_BATCH = 2000  # releases per transaction, as the sagas' batches


async def release_entry(ledger: Books, settings: Settings, key: str, reason: str) -> Released:
    """Release the entry `key`, or the reserved items of the mass payout `key`."""
    record = await ledger.record(key)
    if record is None:
        return await _release_items(ledger, settings, key, reason)
    if record.state is EntryState.SETTLED:
        raise CliError(
            f"{key} was settled at {record.updated_at.isoformat(timespec='seconds')}: the money"
            " has left; nothing released",
            exit_code=1,
        )
    if record.state is EntryState.RELEASED:  # already: say so, move nothing
        return Released(
            key=key,
            saga=saga_of(key),
            saga_status=None,
            released=0,
            amount=Decimal(0),
            currency=record.currency,
            entries=[record],
        )
    saga, status = await _ended_saga(settings, key)
    await ledger.release(ReleaseRequest(key=key, reason=f"released by operator: {reason}"))
    after = await ledger.record(key)
    return Released(
        key=key,
        saga=saga,
        saga_status=status,
        released=1,
        amount=record.amount,
        currency=record.currency,
        entries=[after] if after else [],
    )


async def _release_items(ledger: Books, settings: Settings, key: str, reason: str) -> Released:
    """Every item of the mass payout `key` still reserved (its saga has ended)."""
    prefix = f"{key}{ITEM_INFIX}"
    if not (await ledger.records_under(prefix, 1))[0]:
        raise CliError(f"no ledger entry {key!r}", exit_code=1)
    held = await ledger.reserved_under(prefix)
    if not held:  # settled or released already: nothing to ask Temporal about
        return Released(
            key=key, saga=saga_of(f"{prefix}0"), saga_status=None, released=0,
            amount=Decimal(0), currency=None, entries=[],
        )  # fmt: skip
    saga, status = await _ended_saga(settings, f"{prefix}0")
    for start in range(0, len(held), RELEASE_BATCH):
        await ledger.apply_many(
            [
                ReleaseRequest(key=record.key, reason=f"released by operator: {reason}")
                for record in held[start : start + RELEASE_BATCH]
            ]
        )
    return Released(
        key=key,
        saga=saga,
        saga_status=status,
        released=len(held),
        amount=total_of([record.amount for record in held]),
        currency=held[0].currency,
        entries=[],
    )


async def _ended_saga(settings: Settings, key: str) -> tuple[str | None, str | None]:
    """The saga owning `key` and how it ended (None: no such workflow); a CliError while it
    runs, or when Temporal cannot say — a reservation is never released on a guess."""
    saga = saga_of(key)
    if saga is None:
        return None, None
    from starter.service.temporal_client import connect

    try:
        client = await connect(settings)
        status = await _status(client, saga)
        # A mass payout's deals outlive it (ParentClosePolicy.ABANDON) and settle their items.
        deals = await _running_children(client, saga) if saga.startswith("mass-") else 0
    except RPCError as exc:
        raise CliError(f"cannot check saga {saga}: {exc}; nothing released", exit_code=1) from exc
    except RuntimeError as exc:  # the client's connection errors
        raise CliError(
            f"cannot reach Temporal to check saga {saga}: {exc}; nothing released", exit_code=1
        ) from exc
    if status == WorkflowExecutionStatus.RUNNING:
        raise CliError(
            f"saga {saga} is still running: it settles or releases {key} itself"
            " (cancel it first if it must not pay); nothing released",
            exit_code=1,
        )
    if deals:
        raise CliError(
            f"{deals} deal(s) of saga {saga} are still running: they settle or release their"
            " items themselves; nothing released",
            exit_code=1,
        )
    return saga, None if status is None else status.name


async def _status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    """The workflow's status; None when there is no such workflow."""
    try:
        status = (await client.get_workflow_handle(workflow_id).describe()).status
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return status or WorkflowExecutionStatus.RUNNING  # unknown: assume the worst


async def _running_children(client: Client, parent_id: str) -> int:
    query = f"ParentWorkflowId = '{parent_id}' AND ExecutionStatus = 'Running'"
    return (await client.count_workflows(query)).count
