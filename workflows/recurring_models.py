"""Recurring payouts: what a payout schedule's action carries, what an occurrence returns, and the
occurrence's idempotency key.

A payout schedule (`starter/api/schedules.py`) is a Temporal Schedule whose action starts one
`RecurringPayout` workflow per occurrence (`workflows/recurring.py`). That workflow derives the
saga's key from the schedule id and the occurrence's *scheduled* time, so a retried, backfilled or
double-fired occurrence starts the same saga (`payout-<key>` or `mass-payout-<key>`) and never pays
twice. Deterministic and pure: used by the workflow and by the API alike.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from workflows.mass_models import MassPayoutRequest
from workflows.payout_models import PayoutRequest, SagaKnobs

# The workflow type an occurrence runs as: part of every schedule's action and recorded history.
OCCURRENCE_WORKFLOW = "RecurringPayout"
# `PayoutKind` of payout schedules and of their occurrence workflows: `payouts schedule list`
# finds schedules by it, and the saved views (`PayoutKind IN ('single', 'mass')`) leave it out.
RECURRING_KIND = "recurring"
# Never change: every key an existing schedule has derived depends on it.
_OCCURRENCE_NAMESPACE = uuid.UUID("0b6f4d2e-8f5a-4c1d-9a7e-52c3e1f0d8b4")


class Overlap(StrEnum):
    """What happens when an occurrence is due while the previous one still runs.

    HOLD: the occurrence waits for its saga to end, and the schedule buffers one occurrence
    (BUFFER_ONE) until then: nothing is paid while the previous payout still holds money, and a
    due payout is paid late rather than dropped. ALLOW: occurrences run side by side (ALLOW_ALL)
    and an occurrence ends as soon as its saga has started."""

    HOLD = "hold"
    ALLOW = "allow"


def scheduled_second(moment: datetime) -> datetime:
    """`moment` in UTC, to the second. Temporal names an occurrence's workflow, and sets its
    `TemporalScheduledStartTime`, to the second (a manual trigger is scheduled "now", to the
    second); a schedule's recent actions carry the same time with its fraction."""
    if moment.tzinfo is None:
        raise ValueError("a scheduled time must have a time zone")
    return moment.astimezone(UTC).replace(microsecond=0)


def occurrence_key(schedule_id: str, scheduled_time: datetime) -> uuid.UUID:
    """The idempotency key of the saga an occurrence starts: uuid5 of a fixed namespace and
    `<schedule id>/<scheduled time, UTC, to the second, ISO-8601>`."""
    when = scheduled_second(scheduled_time).isoformat()
    return uuid.uuid5(_OCCURRENCE_NAMESPACE, f"{schedule_id}/{when}")


def occurrence_workflow_id(schedule_id: str) -> str:
    """The id in the schedule's action; Temporal appends `-<scheduled time>` to each run."""
    return f"recurring-payout-{schedule_id}"


class RecurringPayoutInput(BaseModel):
    """The schedule action's argument: the payout each occurrence makes, checked when the
    schedule was created or updated. Exactly one of `payout` and `mass` is set. A mass payout's
    list is a snapshot of the CSV taken then; the whole input travels through the payload store
    (`starter/api/schedules.py`), never inline in the schedule."""

    schedule_id: str
    payout: PayoutRequest | None = None
    mass: MassPayoutRequest | None = None
    knobs: SagaKnobs = Field(default_factory=SagaKnobs)
    overlap: Overlap = Overlap.HOLD
    # What `payouts list` shows without asking the saga (`starter.api.idempotent_start`'s
    # listing memo), computed by the API; the occurrence adds the schedule id and time.
    saga_memo: dict[str, str | int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> RecurringPayoutInput:
        if (self.payout is None) == (self.mass is None):
            raise ValueError("exactly one of payout and mass must be set")
        return self

    @property
    def kind(self) -> str:
        return "mass" if self.mass is not None else "single"

    @property
    def currency(self) -> str:
        request = self.mass or self.payout
        assert request is not None
        return request.currency


class RecurringPayoutResult(BaseModel):
    """What one occurrence did: the saga it started (or found started by an earlier firing of
    the same scheduled time), and, with overlap `hold`, how that saga ended."""

    schedule_id: str
    scheduled_time: datetime
    key: uuid.UUID
    kind: str
    workflow_id: str
    started: bool  # False: the saga already existed (a retried, backfilled or double firing)
    state: str | None = None  # the saga's final state (hold); None when not waited for
    reason: str | None = None
