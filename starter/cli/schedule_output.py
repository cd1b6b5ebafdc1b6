"""How `payouts schedule` prints schedules: a readable view, or one JSON document."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import simplejson

from starter.api.schedule_timing import format_duration
from starter.api.schedule_views import ScheduleView
from starter.cli.output import console


def emit_schedule_json(shown: ScheduleView | list[ScheduleView]) -> None:
    """One JSON document; money stays an exact number, durations are seconds."""
    value: Any = (
        [view.model_dump(mode="python") for view in shown]
        if isinstance(shown, list)
        else shown.model_dump(mode="python")
    )
    print(simplejson.dumps(value, use_decimal=True, default=_plain))


def _plain(value: object) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _what(view: ScheduleView) -> str:
    if view.kind == "mass":
        return f"mass payout {view.name!r}: {view.items} recipients, {view.total} {view.currency}"
    return f"{view.amount} {view.currency} to {view.to}"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


def print_schedule_list(views: list[ScheduleView]) -> None:
    header = ("id", "state", "when", "next run", "pays")
    rows = [header] + [
        (
            view.schedule_id,
            "paused" if view.paused else "active",
            view.when,
            _when(view.next_runs[0] if view.next_runs else None),
            _what(view),
        )
        for view in views
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        console.print(line.rstrip(), highlight=False, soft_wrap=True, markup=False)


def print_schedule(view: ScheduleView) -> None:
    state = f"paused ({view.note})" if view.paused else "active"
    console.print(
        f"{view.schedule_id} · {state} · {view.when}", highlight=False, markup=False, soft_wrap=True
    )
    facts = {
        "pays": _what(view),
        "ledger account": view.ledger_account,
        "overlap": view.overlap.value,
        "catchup window": format_duration(view.timing.catchup_window),
        "requested by": view.requested_by,
        "list snapshot": view.snapshot_at.isoformat() if view.snapshot_at else None,
        "next runs": ", ".join(_when(moment) for moment in view.next_runs[:3]) or "none",
        "occurrences": f"{view.actions} run, {view.skipped_overlap} skipped (overlap), "
        f"{view.missed_catchup_window} missed (catchup window)",
    }
    for name, value in facts.items():
        if value:
            console.print(f"  {name:>14}: {value}", highlight=False, markup=False, soft_wrap=True)
    if not view.occurrences:
        return
    header = ("scheduled", "occurrence", "payout key", "payout state")
    rows = [header] + [
        (
            _when(occurrence.scheduled_time),
            occurrence.status + (" (already started)" if occurrence.started_saga is False else ""),
            str(occurrence.key),
            occurrence.saga_state or "?",
        )
        for occurrence in view.occurrences
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        console.print("  " + line.rstrip(), highlight=False, soft_wrap=True, markup=False)
