"""What the payout schedule API returns, and the errors it raises.

`ScheduleFacts` is kept in the memo of the schedule's action (so every occurrence workflow carries
it too): what it pays and when, as given — Temporal turns a cron into calendars and keeps no
summary of its own, and a schedule's own memo cannot be updated.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from starter.api.schedule_timing import ScheduleTiming
from workflows.payout_models import PayoutRequest
from workflows.recurring_models import Overlap


class InvalidScheduleError(ValueError):
    """Raised before anything is created or changed; `problems` lists every one, each naming
    its field (or a CSV row)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ScheduleNotFoundError(LookupError):
    """No payout schedule has this id (or the schedule with it is not a payout schedule)."""


class ScheduleExistsError(ValueError):
    """`create` with an id a schedule already has."""


class ScheduleFacts(BaseModel):
    """What a schedule pays and when. Single payouts: `amount` to `to`; mass payouts: `items`
    recipients, `total` in all, from the CSV snapshot taken at `snapshot_at`."""

    kind: str  # single | mass
    currency: str
    amount: Decimal | None = None
    to: str | None = None
    total: Decimal | None = None
    items: int | None = None
    name: str | None = None
    ledger_account: str = "default"
    overlap: Overlap = Overlap.HOLD
    requested_by: str | None = None
    timing: ScheduleTiming
    snapshot_at: datetime | None = None


class Occurrence(BaseModel):
    """One recent firing: when it was due, the saga it is about (key and workflow id), and
    where that saga is (`PayoutState`, or NOT_STARTED while the occurrence has not started it)."""

    scheduled_time: datetime
    started_at: datetime | None = None
    workflow_id: str  # the occurrence's workflow, recurring-payout-<schedule>-<time>
    status: str  # the occurrence workflow's: RUNNING, COMPLETED, …
    key: uuid.UUID
    saga_workflow_id: str
    saga_state: str | None = None
    # False when this firing found the saga already started by an earlier firing of the same
    # scheduled time (a retry, a second backfill); None while the occurrence has not ended.
    started_saga: bool | None = None


class ScheduleView(ScheduleFacts):
    """A payout schedule as `list` (no occurrences) and `describe` show it."""

    schedule_id: str
    when: str  # one line, e.g. `cron 0 9 1 * * (Europe/Berlin)`
    paused: bool = False
    note: str | None = None
    next_runs: list[datetime] = Field(default_factory=list)
    actions: int = 0
    missed_catchup_window: int = 0
    skipped_overlap: int = 0
    occurrences: list[Occurrence] = Field(default_factory=list)  # newest first
    payout: PayoutRequest | None = None  # a single payout's request (describe only)
