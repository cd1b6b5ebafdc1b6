"""The `payouts-reconcile` Temporal Schedule: a `Reconcile` workflow every interval.

`payouts setup --reconcile-every 1h` creates it, or updates it to the new interval and task queue
(nothing changes when both are the same); `--reconcile-every off` deletes it. A run that is still
going when the next is due makes that one skip, so slow runs never pile up. Each run looks back
a day, or two intervals when that is longer, so consecutive runs overlap.
"""

from __future__ import annotations

import re
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
)
from temporalio.service import RPCError, RPCStatusCode

from workflows.reconcile_models import DEFAULT_WINDOW_SECONDS, ReconcileInput

SCHEDULE_ID = "payouts-reconcile"
WORKFLOW = "Reconcile"
MINIMUM_INTERVAL = timedelta(minutes=1)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)([dhms]))")


def parse_every(text: str) -> timedelta | None:
    """`1h`, `30m`, `1h30m`, `90s`, `2d` → the interval; `off` → None. ValueError otherwise."""
    cleaned = text.strip().lower()
    if cleaned == "off":
        return None
    parts = _DURATION.findall(cleaned)
    if not cleaned or "".join(number + unit for number, unit in parts) != cleaned:
        raise ValueError(f"{text!r} is not an interval like 1h, 30m or 1h30m, nor off")
    every = timedelta(seconds=sum(int(number) * _UNITS[unit] for number, unit in parts))
    if every < MINIMUM_INTERVAL:
        raise ValueError(f"{text!r} is shorter than a minute")
    return every


def format_every(every: timedelta) -> str:
    seconds, text = int(every.total_seconds()), ""
    for unit, size in _UNITS.items():
        if seconds >= size:
            text += f"{seconds // size}{unit}"
            seconds %= size
    return text or "0s"


def reconcile_schedule(task_queue: str, every: timedelta) -> Schedule:
    window = max(DEFAULT_WINDOW_SECONDS, 2 * every.total_seconds())
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WORKFLOW,
            ReconcileInput(window_seconds=window),
            id=SCHEDULE_ID,  # each run's id is this plus the time it was due
            task_queue=task_queue,
            static_summary=f"Reconcile provider, sagas and ledger (every {format_every(every)})",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note=f"payouts setup --reconcile-every {format_every(every)}"),
    )


async def set_reconcile_schedule(client: Client, task_queue: str, every: timedelta | None) -> str:
    """Create, update or (every=None) delete the schedule; returns what happened, in words."""
    handle = client.get_schedule_handle(SCHEDULE_ID)
    current = await _describe(handle)
    if every is None:
        if current is None:
            return f"no reconcile schedule ({SCHEDULE_ID}) to delete"
        await handle.delete()
        return f"reconcile schedule {SCHEDULE_ID} deleted"
    wanted = reconcile_schedule(task_queue, every)
    how = f"{SCHEDULE_ID}: every {format_every(every)} on task queue {task_queue}"
    if current is None:
        try:
            await client.create_schedule(SCHEDULE_ID, wanted)
            return f"reconcile schedule created: {how}"
        except ScheduleAlreadyRunningError:  # created meanwhile by another setup
            pass
    elif _same(current, wanted):
        return f"reconcile schedule unchanged: {how}"
    await handle.update(lambda _: ScheduleUpdate(schedule=wanted))
    return f"reconcile schedule updated: {how}"


async def _describe(handle: ScheduleHandle) -> ScheduleDescription | None:
    try:
        return await handle.describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return None


def _same(current: ScheduleDescription, wanted: Schedule) -> bool:
    action, spec = current.schedule.action, current.schedule.spec
    assert isinstance(wanted.action, ScheduleActionStartWorkflow)
    return (
        isinstance(action, ScheduleActionStartWorkflow)
        and action.workflow == wanted.action.workflow
        and action.task_queue == wanted.action.task_queue
        and [interval.every for interval in spec.intervals]
        == [interval.every for interval in wanted.spec.intervals]
    )
