"""Following one provider attempt (a payout or a mass deal) until the API confirms a final state.

Webhooks arrive as hints (`hint`) and move the state only forward; an API read (`apply`) is
authoritative for final states. `follow` applies hints as they come and polls when none came for
a poll interval, doubling the interval while nothing happens. What it learns it writes into the
attempt it follows and shows on the saga's record.

On the current path (`saga_paths.py`) the reads are local activities, and whether a poll is due
is decided without the clock: a poll timer that fires polls unless a webhook came while it ran
(the time read after a local activity is the activity's completion time, which a replay need
not reproduce). Deterministic: runs in workflows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payout_models import FetchPayoutInput, ProviderPayout
    from activities.provider_endpoints import ProviderEndpoints
    from calypso.models import FINAL_PAYOUT_STATES, WebhookEventType
    from workflows import saga_paths
    from workflows.activity_options import step
    from workflows.payout_models import Attempt, ProviderEvent
    from workflows.provider_review import ProviderReview
    from workflows.provider_tracking import ProviderTracker
    from workflows.saga_record import SagaRecord

POLL_BACKOFF_CAP = 32  # the poll interval doubles while nothing happens, up to 32 times
CONFIRM_VALIDATION_ERRORS = "confirm-on-validation-error"


class ProviderFollower:
    def __init__(
        self,
        attempt: Attempt,
        endpoints: ProviderEndpoints,
        record: SagaRecord,
        poll_interval: timedelta,
        confirmation_wait: timedelta,
    ) -> None:
        self.attempt = attempt
        self.review = ProviderReview(record, confirmation_wait)
        self.tracker = ProviderTracker()
        self.confirmed_final: ProviderPayout | None = None
        self.next_poll_at: datetime | None = None
        self._endpoints = endpoints
        self._record = record
        self._poll_interval = poll_interval
        self._events: list[ProviderEvent] = []
        self._needs_confirmation = False
        self._validation_error = False  # a PAYOUT_VALIDATION_ERROR webhook awaits its API read
        self._on_wake_ups = saga_paths.current()

    def hint(self, event: ProviderEvent) -> bool:
        """Queue a webhook if it is about this attempt; False when it belongs elsewhere."""
        attempt = self.attempt
        if event.provider_key != attempt.provider_key and (
            attempt.provider_id is None or event.provider_id != attempt.provider_id
        ):
            return False
        self._events.append(event)
        return True

    def apply(self, payout: ProviderPayout, source: str) -> None:
        """A payout read from the provider's API: authoritative for final states."""
        self.review.observe(payout.state)
        moved = self.tracker.observe(payout.state)
        if payout.state in FINAL_PAYOUT_STATES:
            self.tracker.state = payout.state
            self.confirmed_final = payout
        if moved or self.confirmed_final is payout:
            self._record.timeline.add(source, "payout", payout.state, None)
        attempt = self.attempt
        attempt.provider_id = payout.id
        attempt.provider_state = self.tracker.state
        attempt.errors = payout.errors
        attempt.fee = payout.fee if payout.fee is not None else attempt.fee
        attempt.tx_hash = payout.tx_hash or attempt.tx_hash
        self._record.refresh_details()

    async def follow(self, interrupt: Callable[[], bool] = lambda: False) -> ProviderPayout | None:
        """Until the final state is confirmed (returned), or `interrupt()` turns true (None)."""
        base = self._poll_interval
        interval = base
        last_hint = workflow.now()
        hinted = False  # a webhook came since the poll timer started
        timer: asyncio.Task[None] | None = None
        try:
            while self.confirmed_final is None:
                self.review.check_deadline()
                if interrupt():
                    return None
                if self._events:
                    self._drain()
                    last_hint, interval, hinted = workflow.now(), base, True
                if self._needs_confirmation:
                    self._needs_confirmation = False
                    self.apply(await self._fetch(), "api")
                    self._report_validation_error()
                    continue
                if timer is None:
                    # The current path waits a whole interval from each timer's start: a wait
                    # counted from the last webhook can come out zero, and a zero wait starts
                    # no timer, which would be a decision on the clock.
                    start = workflow.now() if self._on_wake_ups else last_hint
                    self.next_poll_at = start + interval
                    wait = max(self.next_poll_at - workflow.now(), timedelta(0))
                    timer = asyncio.create_task(asyncio.sleep(wait.total_seconds()))
                    hinted = False
                poll_due: asyncio.Task[None] = timer
                await workflow.wait_condition(
                    lambda: (
                        bool(self._events)
                        or poll_due.done()  # noqa: B023 - awaited right here
                        or self.confirmed_final is not None
                        or self.review.deadline_passed()
                        or interrupt()
                    )
                )
                if timer.done():
                    timer = None
                    if self._poll_due(hinted, last_hint, interval):
                        self.apply(await self._fetch(), "poll")
                        last_hint = workflow.now()
                        interval = min(interval * 2, base * POLL_BACKOFF_CAP)
            return self.confirmed_final
        finally:
            self.next_poll_at = None
            if timer is not None:
                timer.cancel()

    def _poll_due(self, hinted: bool, last_hint: datetime, interval: timedelta) -> bool:
        """When the poll timer fires: poll unless a webhook came meanwhile (current path), or
        unless one came less than a poll interval ago (sagas recorded before it)."""
        if self._on_wake_ups:
            return not hinted
        return workflow.now() - last_hint >= interval

    def _report_validation_error(self) -> None:
        """After a validation-error webhook, the provider's own words go to the status and the
        merchant; if the payout is already final, the saga's end reports them instead."""
        if not self._validation_error:
            return
        self._validation_error = False
        if self.confirmed_final is None:
            errors = "; ".join(self.attempt.errors) or "no message from the provider"
            self._record.set_state(self._record.state, f"provider validation error: {errors}")

    async def _fetch(self) -> ProviderPayout:
        payout: ProviderPayout = await step(
            self._endpoints.fetch_activity,
            FetchPayoutInput(provider_key=self.attempt.provider_key),
            local=self._on_wake_ups,
            result_type=ProviderPayout,
        )
        return payout

    def _drain(self) -> None:
        timeline = self._record.timeline
        while self._events:
            event = self._events.pop(0)
            if self.tracker.is_duplicate(event.type, event.status, event.tx_hash):
                timeline.add("webhook", event.type, event.status, "ignored: duplicate")
                continue
            if event.tx_hash:
                self.attempt.tx_hash = self.attempt.tx_hash or event.tx_hash
            known = self.tracker.state
            moved = self.tracker.observe(event.status)
            note = None
            if not moved and event.type == WebhookEventType.PAYOUT_CHANGE_STATUS:
                note = "already known" if event.status == known else "ignored: stale"
            if event.type == WebhookEventType.PAYOUT_VALIDATION_ERROR and saga_paths.taken(
                CONFIRM_VALIDATION_ERRORS
            ):
                # The provider may have refused the payout: ask its API now, not at the next poll.
                note, self._needs_confirmation = "confirming through the API", True
                self._validation_error = True
            timeline.add("webhook", event.type, event.status, note)
            if moved:
                self._needs_confirmation = self._needs_confirmation or self.tracker.final
                self.attempt.provider_state = self.tracker.state
                self._record.refresh_details()
