"""Recurring payouts on Temporal Schedules: the Python API behind `payouts schedule …`.

    schedules = PayoutSchedules(payouts.client, settings)      # or await PayoutSchedules.connect()
    await schedules.create(
        "rent-may", ScheduleTiming(cron="0 9 1 * *", timezone="Europe/Berlin"),
        PayoutRequest(deposit_address=..., amount=Decimal("1200"), currency="USDT_TRX"),
    )

Everything is checked before anything is created or changed (`InvalidScheduleError` names every
field, and a mass list's every row): the request through the same `checked` as `Payouts.start`,
the timing by `ScheduleTiming.problems`. Each occurrence runs `RecurringPayout`
(`workflows/recurring.py`), which starts one saga under a key derived from the schedule id and the
scheduled time, so no occurrence pays twice. A mass payout's list is snapshotted at create and
update and written to the payload store (`payload_storage.py`): the schedule holds a reference.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleBackfill,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from starter.api.schedule_action import (
    FACTS_MEMO,
    ScheduledRequest,
    decoded_facts,
    decoded_input,
    facts_of,
    listing_memo,
    now_if_mass,
    request_problems,
    search_attributes,
    stored_input,
)
from starter.api.schedule_occurrences import occurrences
from starter.api.schedule_timing import ScheduleTiming, schedule_id_problems
from starter.api.schedule_views import (
    InvalidScheduleError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    ScheduleView,
)
from starter.service.settings import Settings
from starter.service.temporal_client import connect
from workflows import search_attributes as sa
from workflows.mass_models import MassPayoutRequest
from workflows.payout_models import PayoutRequest, SagaKnobs
from workflows.recurring_models import (
    OCCURRENCE_WORKFLOW,
    RECURRING_KIND,
    Overlap,
    RecurringPayoutInput,
    occurrence_workflow_id,
)

__all__ = ["PayoutSchedules", "ScheduleTiming", "ScheduledRequest", "request_problems"]

_OVERLAP = {
    Overlap.HOLD: ScheduleOverlapPolicy.BUFFER_ONE,
    Overlap.ALLOW: ScheduleOverlapPolicy.ALLOW_ALL,
}
# A backfill runs every occurrence in its window: one after another (hold), or side by side.
_BACKFILL = {
    Overlap.HOLD: ScheduleOverlapPolicy.BUFFER_ALL,
    Overlap.ALLOW: ScheduleOverlapPolicy.ALLOW_ALL,
}


class PayoutSchedules:
    """Payout schedules on one Temporal namespace; occurrences run on the settings' task queue."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._settings = settings

    @classmethod
    async def connect(cls, settings: Settings | None = None) -> PayoutSchedules:
        settings = settings or Settings.from_env()
        return cls(await connect(settings), settings)

    async def create(
        self,
        schedule_id: str,
        timing: ScheduleTiming,
        request: ScheduledRequest,
        *,
        overlap: Overlap = Overlap.HOLD,
        requested_by: str | None = None,
    ) -> ScheduleView:
        """Check everything, then create the schedule. `ScheduleExistsError` if the id is taken."""
        problems = [str(p) for p in schedule_id_problems(schedule_id)]
        problems += [str(p) for p in timing.problems()] + request_problems(request)
        if problems:
            raise InvalidScheduleError(problems)
        who = requested_by or request.requested_by
        schedule = Schedule(
            action=await self._action(
                schedule_id, request, timing, overlap, requested_by, now_if_mass(request)
            ),
            spec=timing.spec(),
            policy=SchedulePolicy(overlap=_OVERLAP[overlap], catchup_window=timing.catchup_window),
            state=ScheduleState(note=f"created by {who or 'payouts schedule create'}"),
        )
        try:
            await self._client.create_schedule(
                schedule_id,
                schedule,
                memo={FACTS_MEMO: "payout schedule"},
                search_attributes=search_attributes(request.currency),
            )
        except ScheduleAlreadyRunningError:
            raise ScheduleExistsError(
                f"id: a schedule {schedule_id!r} already exists (update or delete it)"
            ) from None
        return await self.describe(schedule_id)

    async def update(
        self,
        schedule_id: str,
        *,
        timing: ScheduleTiming | None = None,
        request: ScheduledRequest | None = None,
        overlap: Overlap | None = None,
        requested_by: str | None = None,
    ) -> ScheduleView:
        """Replace what is given (timing, request, overlap, requester), keep the rest. A new
        mass request is a new snapshot; without one the stored snapshot is kept."""
        description = await self._ours(schedule_id)
        facts = await decoded_facts(self._client, description)
        current = await decoded_input(self._client, description)
        timing = timing or facts.timing
        problems = [str(p) for p in timing.problems()]
        problems += request_problems(request) if request is not None else []
        if problems:
            raise InvalidScheduleError(problems)
        request = request or current.mass or current.payout
        assert request is not None
        overlap = overlap or current.overlap
        kept = current.mass or current.payout
        requested_by = requested_by or request.requested_by or (kept.requested_by if kept else None)
        # A new list is a new snapshot; the stored one keeps the time it was taken.
        snapshot_at = facts.snapshot_at if request is current.mass else now_if_mass(request)
        action = await self._action(
            schedule_id, request, timing, overlap, requested_by, snapshot_at
        )

        def changed(old: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule = old.description.schedule
            return ScheduleUpdate(
                schedule=dataclasses.replace(
                    schedule,
                    action=action,
                    spec=timing.spec(),
                    policy=SchedulePolicy(
                        overlap=_OVERLAP[overlap], catchup_window=timing.catchup_window
                    ),
                ),
                search_attributes=search_attributes(request.currency),
            )

        await self._handle(schedule_id).update(changed)
        return await self.describe(schedule_id)

    async def list(self) -> list[ScheduleView]:
        """Every payout schedule (tagged `PayoutKind = 'recurring'`), by id, without occurrences."""
        query = f"{sa.PAYOUT_KIND.name} = '{RECURRING_KIND}'"
        ids = sorted([entry.id async for entry in await self._client.list_schedules(query)])
        found = await asyncio.gather(*(self._view_or_none(schedule_id) for schedule_id in ids))
        return [view for view in found if view is not None]

    async def describe(self, schedule_id: str) -> ScheduleView:
        """The schedule, its next run times and its recent occurrences with their sagas."""
        return await self._view(await self._ours(schedule_id), with_occurrences=True)

    async def pause(self, schedule_id: str, note: str) -> None:
        await self._ours(schedule_id)
        await self._handle(schedule_id).pause(note=note)

    async def unpause(self, schedule_id: str, note: str) -> None:
        await self._ours(schedule_id)
        await self._handle(schedule_id).unpause(note=note)

    async def trigger(self, schedule_id: str) -> None:
        """Run an occurrence now (scheduled "now", to the second), under the schedule's overlap."""
        await self._ours(schedule_id)
        await self._handle(schedule_id).trigger()

    async def backfill(self, schedule_id: str, start: datetime, end: datetime) -> None:
        """Run every occurrence due between `start` and `end` now, each under its own derived
        key: an occurrence that already paid finds its saga and pays nothing again."""
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise InvalidScheduleError(
                ["backfill: start and end need a time zone, end after start"]
            )
        description = await self._ours(schedule_id)
        overlap = (await decoded_facts(self._client, description)).overlap
        window = ScheduleBackfill(start_at=start, end_at=end, overlap=_BACKFILL[overlap])
        await self._handle(schedule_id).backfill(window)

    async def delete(self, schedule_id: str) -> None:
        """Delete the schedule; occurrences and sagas already running carry on."""
        await self._ours(schedule_id)
        await self._handle(schedule_id).delete()

    # --- inside -----------------------------------------------------------------------------

    def _handle(self, schedule_id: str) -> ScheduleHandle:
        return self._client.get_schedule_handle(schedule_id)

    async def _ours(self, schedule_id: str) -> ScheduleDescription:
        try:
            description = await self._handle(schedule_id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            raise ScheduleNotFoundError(f"id: no payout schedule {schedule_id!r}") from None
        action = description.schedule.action
        if (
            not isinstance(action, ScheduleActionStartWorkflow)
            or action.workflow != OCCURRENCE_WORKFLOW
        ):
            raise ScheduleNotFoundError(f"id: schedule {schedule_id!r} is not a payout schedule")
        return description

    async def _action(
        self,
        schedule_id: str,
        request: ScheduledRequest,
        timing: ScheduleTiming,
        overlap: Overlap,
        requested_by: str | None,
        snapshot_at: datetime | None,
    ) -> ScheduleActionStartWorkflow:
        if requested_by is not None:  # every saga of the schedule is asked for by them
            request = request.model_copy(update={"requested_by": requested_by})
        requested_by = request.requested_by
        mass = request if isinstance(request, MassPayoutRequest) else None
        occurrence = RecurringPayoutInput(
            schedule_id=schedule_id,
            payout=request if isinstance(request, PayoutRequest) else None,
            mass=mass,
            knobs=SagaKnobs(
                poll_interval_seconds=self._settings.poll_interval_seconds,
                notify_merchant=self._settings.callback_url is not None,
                confirmation_wait_seconds=self._settings.confirmation_wait_seconds,
            ),
            overlap=overlap,
            saga_memo=listing_memo(request),
        )
        return ScheduleActionStartWorkflow(
            OCCURRENCE_WORKFLOW,
            await stored_input(self._client, occurrence) if mass is not None else occurrence,
            id=occurrence_workflow_id(schedule_id),
            task_queue=self._settings.task_queue,
            memo={FACTS_MEMO: facts_of(request, timing, overlap, requested_by, snapshot_at)},
            typed_search_attributes=search_attributes(request.currency),
            static_summary=f"Recurring payout {schedule_id}",
        )

    async def _view_or_none(self, schedule_id: str) -> ScheduleView | None:
        try:  # listed a moment ago; deleted or foreign since: not listed
            return await self._view(await self._ours(schedule_id), with_occurrences=False)
        except ScheduleNotFoundError:
            return None

    async def _view(
        self, description: ScheduleDescription, *, with_occurrences: bool
    ) -> ScheduleView:
        facts = await decoded_facts(self._client, description)
        info, state = description.info, description.schedule.state
        payout = None
        if with_occurrences and facts.kind == "single":
            payout = (await decoded_input(self._client, description)).payout
        found = await occurrences(self._client, description, facts.kind) if with_occurrences else []
        return ScheduleView(
            **dict(facts),
            schedule_id=description.id,
            when=facts.timing.describe(),
            paused=state.paused,
            note=state.note,
            next_runs=list(info.next_action_times),
            actions=info.num_actions,
            missed_catchup_window=info.num_actions_missed_catchup_window,
            skipped_overlap=info.num_actions_skipped_overlap,
            occurrences=found,
            payout=payout,
        )
