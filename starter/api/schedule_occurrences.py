"""A payout schedule's recent occurrences, each with the saga it is about.

Temporal keeps a schedule's last actions with the time each was due. The saga's key follows
from that time (`workflows.recurring_models.occurrence_key`, the same derivation the occurrence
workflow makes), so the saga is found without asking the occurrence; its state is its
`PayoutState` search attribute.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionResult,
    ScheduleDescription,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError, RPCStatusCode

from starter.api.schedule_views import Occurrence
from workflows import search_attributes as sa
from workflows.keys import mass_payout_workflow_id, single_payout_workflow_id
from workflows.recurring_models import RecurringPayoutResult, occurrence_key, scheduled_second


async def occurrences(
    client: Client, description: ScheduleDescription, kind: str
) -> list[Occurrence]:
    """The schedule's recent occurrences, newest first."""
    recent = sorted(description.info.recent_actions, key=lambda a: a.started_at, reverse=True)
    return list(
        await asyncio.gather(*(_occurrence(client, description.id, kind, a) for a in recent))
    )


async def _occurrence(
    client: Client, schedule_id: str, kind: str, action: ScheduleActionResult
) -> Occurrence:
    key = occurrence_key(schedule_id, action.scheduled_at)
    saga_id = mass_payout_workflow_id(key) if kind == "mass" else single_payout_workflow_id(key)
    started = action.action
    assert isinstance(started, ScheduleActionExecutionStartWorkflow)
    status, started_saga = await _occurrence_status(client, started)
    return Occurrence(
        scheduled_time=scheduled_second(action.scheduled_at),
        started_at=action.started_at,
        workflow_id=started.workflow_id,
        status=status,
        key=key,
        saga_workflow_id=saga_id,
        saga_state=await _saga_state(client, saga_id),
        started_saga=started_saga,
    )


async def _occurrence_status(
    client: Client, started: ScheduleActionExecutionStartWorkflow
) -> tuple[str, bool | None]:
    handle = client.get_workflow_handle(
        started.workflow_id,
        run_id=started.first_execution_run_id,
        result_type=RecurringPayoutResult,
    )
    try:
        status = (await handle.describe()).status
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return "GONE", None  # past the namespace's retention
    if status != WorkflowExecutionStatus.COMPLETED:
        return status.name if status else "UNKNOWN", None
    result: Any = await handle.result()
    return status.name, result.started if isinstance(result, RecurringPayoutResult) else None


async def _saga_state(client: Client, workflow_id: str) -> str:
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return "NOT_STARTED"
    state = described.typed_search_attributes.get(sa.PAYOUT_STATE)
    if state:
        return state
    running = described.status in (None, WorkflowExecutionStatus.RUNNING)
    return "RECEIVED" if running else (described.status.name if described.status else "UNKNOWN")
