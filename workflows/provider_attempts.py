"""A saga's sends to the provider, shared by the single payout and the mass deal.

Attempt 0 sends the saga's own key; a resend is a new attempt under a derived key (`keys.py`).
This object keeps the attempt list, creates each attempt exactly once, follows the current one
(`follower.py`), routes webhooks to it — buffering those that arrive before its create call has
returned — and asks the provider to cancel it. Every state it learns goes to the saga's record.
Deterministic: runs in workflows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.payout_models import (
        CancelProviderInput,
        CancelProviderResult,
        FetchPayoutInput,
        ProviderPayout,
    )
    from activities.provider_endpoints import ProviderEndpoints
    from workflows import saga_paths
    from workflows.activity_options import CALL
    from workflows.follower import ProviderFollower
    from workflows.keys import attempt_key
    from workflows.payout_models import Attempt, ProviderEvent, SagaState
    from workflows.provider_review import (
        HOLD_AFTER_ERROR,
        REVIEW_RECHECK_FIRST,
        REVIEW_RECHECK_MAX,
    )
    from workflows.saga_record import SagaRecord


class ProviderAttempts:
    def __init__(
        self,
        endpoints: ProviderEndpoints,
        first_key: UUID,
        record: SagaRecord,
        poll_interval: timedelta,
        confirmation_wait: timedelta,
    ) -> None:
        self.attempts: list[Attempt] = []
        self._confirmation_wait = confirmation_wait
        self.creating = False  # a create call is in flight: its outcome is not known yet
        self._endpoints = endpoints
        self._first_key = first_key
        self._record = record
        self._poll_interval = poll_interval
        self._follower: ProviderFollower | None = None  # the current attempt's, once created
        self._early: list[ProviderEvent] = []  # webhooks that came before their attempt's create

    @property
    def current(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def next_key(self) -> UUID:
        """The provider idempotency key the next attempt sends."""
        return attempt_key(self._first_key, len(self.attempts))

    @property
    def live(self) -> bool:
        """Whether the provider has the current attempt and has not finished it."""
        return self._follower is not None and not self._follower.tracker.final

    @property
    def next_poll_at(self) -> datetime | None:
        return self._follower.next_poll_at if self._follower else None

    def hint(self, event: ProviderEvent) -> None:
        """A webhook: to the current attempt, kept until its attempt exists, or noted as stray."""
        if self.creating or self._follower is None:
            self._early.append(event)
        elif not self._follower.hint(event):
            self._record.timeline.add(
                "webhook", event.type, event.status, "ignored: another attempt"
            )

    async def create(self, request: BaseModel, *, items: int | None = None) -> None:
        """Send `request` (whose provider key is `next_key`) as a new attempt, exactly once."""
        attempt = Attempt(number=len(self.attempts), provider_key=self.next_key, items=items)
        self.attempts.append(attempt)
        self._follower = None
        note = f"attempt {attempt.number}, provider key {attempt.provider_key}"
        self._record.set_state(SagaState.CREATING, note)
        self.creating = True
        try:
            payout = await workflow.execute_activity(
                self._endpoints.create_activity,
                request,
                result_type=ProviderPayout,
                **CALL,
                # A cancel must not leave us guessing whether the provider has the payout.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        finally:
            self.creating = False
        attempt.provider_id = payout.id
        self._record.provider_assigned(payout.id)
        self._record.set_state(SagaState.SUBMITTED, f"provider payout {payout.id}")
        follower = ProviderFollower(
            attempt, self._endpoints, self._record, self._poll_interval, self._confirmation_wait
        )
        self._follower, early, self._early = follower, self._early, []
        for event in early:
            self.hint(event)
        follower.apply(payout, "api")

    async def follow(self, interrupt: Callable[[], bool] = lambda: False) -> ProviderPayout | None:
        """Follow the current attempt until the provider confirms a final state (returned), or
        until `interrupt()` turns true (None).

        A read that fails after the create no longer ends the saga (which would release money
        the provider may still pay): the record asks for review and the saga tries again on a
        backoff, until the provider answers or `interrupt()` (an operator's decision)."""
        assert self._follower is not None, "create() first"
        pause = REVIEW_RECHECK_FIRST
        while True:
            try:
                return await self._follower.follow(interrupt)
            except ActivityError as error:
                if not saga_paths.taken(HOLD_AFTER_ERROR):
                    raise
                reason = (
                    f"{error.activity_type} failed: {error.cause or error}; the provider has this "
                    "payout, so the money is held: fix the cause and the saga checks again, or "
                    "decide with `payouts resolve`"
                )
                if self._record.detail != reason:  # once per cause, not once per retry
                    self._record.set_state(SagaState.NEEDS_REVIEW, reason)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(interrupt, timeout=pause)
            if interrupt():
                return None
            pause = min(pause * 2, REVIEW_RECHECK_MAX)

    async def cancel_at_provider(self, reason: str) -> CancelProviderResult:
        """Ask the provider to cancel the current attempt; a refusal is an answer, not an error."""
        current = self.current
        assert current is not None and current.provider_id is not None, "nothing sent yet"
        outcome: CancelProviderResult = await workflow.execute_activity(
            self._endpoints.cancel_activity,
            CancelProviderInput(
                provider_id=current.provider_id, provider_key=current.provider_key, reason=reason
            ),
            result_type=CancelProviderResult,
            **CALL,
        )
        self._record.timeline.add("api", "cancel", None, outcome.message)
        if outcome.payout is not None and self._follower is not None:
            self._follower.apply(outcome.payout, "api")
        return outcome

    async def fetch_current(self) -> ProviderPayout:
        """The current attempt as the provider has it now (ApplicationError if it has none)."""
        current = self.current
        assert current is not None, "nothing sent yet"
        payout: ProviderPayout = await workflow.execute_activity(
            self._endpoints.fetch_activity,
            FetchPayoutInput(provider_key=current.provider_key),
            result_type=ProviderPayout,
            **CALL,
        )
        current.provider_id = payout.id  # known even when the create's answer was lost
        if self._follower is not None:
            self._follower.apply(payout, "api")
        return payout
