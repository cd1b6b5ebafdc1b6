"""When a saga must ask a person instead of guessing: the provider reports a state this client
does not know, or a payout waits for confirmation at the provider longer than allowed.

Either way the money is held — nothing is released, settled or resent on it — the saga keeps
checking on its poll backoff, and the record shows `NEEDS_REVIEW` (search attribute, callback,
status) until the provider says something known again or an operator decides
(`payouts resolve`). Older sagas never took this path: `workflow.patched` keeps their histories
replaying. On the current path (`saga_paths.py`) the confirmation deadline is a timer started
when the provider first reports PENDING_CONFIRMATION: the review is asked when it fires, not on a
comparison with a time that a replay might see differently. Deterministic: runs in workflows.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from calypso.models import KNOWN_PAYOUT_STATES, PayoutState
    from workflows import saga_paths
    from workflows.payout_models import SagaState
    from workflows.saga_record import SagaRecord

HOLD_FOR_REVIEW = "hold-unknown-and-unconfirmed-for-review"
HOLD_AFTER_ERROR = "hold-when-a-read-fails-after-create"
# How often a saga holding money for review asks the provider again.
REVIEW_RECHECK_FIRST = timedelta(minutes=1)
REVIEW_RECHECK_MAX = timedelta(hours=1)


class ProviderReview:
    def __init__(self, record: SagaRecord, confirmation_wait: timedelta) -> None:
        self.reason: str | None = None  # why the saga waits for a person, while it does
        self._record = record
        self._confirmation_wait = confirmation_wait
        self._pending_since: datetime | None = None
        self._deadline: asyncio.Task[None] | None = None  # the current path's confirmation timer
        self._deadline_told = False

    def observe(self, state: str) -> None:
        """A state the provider's API reported for the attempt being followed."""
        if state not in KNOWN_PAYOUT_STATES:
            self._ask(
                f"the provider reports state {state!r}, which this client does not know: the "
                "money is held and the saga keeps checking; confirm the outcome with the "
                "provider, then `payouts resolve` if it does not settle by itself"
            )
            return
        if state == PayoutState.PENDING_CONFIRMATION:
            self._pending_since = self._pending_since or workflow.now()
            if self._deadline is None and saga_paths.current():
                wait = self._confirmation_wait.total_seconds()
                self._deadline = asyncio.create_task(asyncio.sleep(wait))
        else:
            self._pending_since = None
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline, self._deadline_told = None, False
        if self.reason is not None and state != PayoutState.PENDING_CONFIRMATION:
            self.reason = None
            self._record.set_state(SagaState.SUBMITTED, f"the provider reports {state}")

    def deadline_passed(self) -> bool:
        """The current path's confirmation timer has fired and nobody was asked yet."""
        deadline = self._deadline
        return deadline is not None and deadline.done() and not self._deadline_told

    def check_deadline(self) -> None:
        """Ask for review once a payout has waited too long for confirmation."""
        since = self._pending_since
        if since is None:
            return
        if self._deadline is not None:
            if not self.deadline_passed():
                return
            self._deadline_told = True
        elif workflow.now() - since < self._confirmation_wait:
            return
        self._ask(
            f"not confirmed at the provider since {since.isoformat()}: confirm or decline it "
            "in the provider's UI; the money stays reserved and the saga keeps following"
        )

    def _ask(self, reason: str) -> None:
        if self.reason == reason or not saga_paths.taken(HOLD_FOR_REVIEW):
            return
        self.reason = reason
        self._record.set_state(SagaState.NEEDS_REVIEW, reason)
