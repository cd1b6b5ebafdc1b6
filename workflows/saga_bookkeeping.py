"""The saga's memory and how it is shown: provider hints applied in order, timeline, details.

The workflow class in `single_payout.py` drives the steps; this base class keeps what it learned
(attempts, provider state via each attempt's `ProviderFollower`, fee, hash) and publishes it:
search attributes, the UI's current details, merchant callbacks, the status query.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.callbacks import CallbackEvent
    from activities.payout_models import ProviderPayout
    from workflows import search_attributes as sa
    from workflows.follower import ProviderFollower
    from workflows.merchant_notices import MerchantNotices
    from workflows.payout_models import (
        Attempt,
        PayoutInput,
        PayoutStatus,
        ProviderEvent,
        SagaState,
    )
    from workflows.saga_timeline import Timeline


Fetch = Callable[[UUID], Awaitable[ProviderPayout]]


class SagaBookkeeping:
    def __init__(self, request: PayoutInput) -> None:
        self._request = request
        self._state = SagaState.RECEIVED
        self._reason: str | None = None
        self._execution_date = request.execution_date
        self._rescheduled = False
        self._cancel_reason: str | None = None
        self._creating = False
        self._attempts: list[Attempt] = []
        self._follower: ProviderFollower | None = None  # the current attempt's
        self._early: list[ProviderEvent] = []  # webhooks before the create call returned
        self._fee: Decimal | None = None
        self._tx_hash: str | None = None
        self._timeline = Timeline()
        self._notices = MerchantNotices(request.notify_merchant, self._timeline)

    @property
    def _provider_state(self) -> str | None:
        return self._follower.tracker.state if self._follower else None

    def _snapshot(self) -> PayoutStatus:
        current = self._attempts[-1] if self._attempts else None
        return PayoutStatus(
            key=self._request.idempotency_key,
            state=self._state,
            provider_state=self._provider_state,
            provider_id=current.provider_id if current else None,
            amount=self._request.amount,
            currency=self._request.currency,
            deposit_address=self._request.deposit_address,
            fee=self._fee,
            tx_hash=self._tx_hash,
            reason=self._reason,
            detail=self._timeline.latest_note("saga", "state"),
            errors=current.errors if current else [],
            attempts=self._attempts,
            execution_date=self._execution_date,
            next_poll_at=self._follower.next_poll_at if self._follower else None,
            timeline=self._timeline.entries,
        )

    def _hint(self, event: ProviderEvent) -> None:
        """A webhook: to the current attempt's follower, kept for later, or recorded as stray."""
        if self._creating or self._follower is None:
            self._early.append(event)
        elif not self._follower.hint(event):
            self._timeline.add("webhook", event.type, event.status, "ignored: another attempt")

    def _follow_attempt(self, provider_key: UUID, fetch: Fetch) -> ProviderFollower:
        """A follower for a new attempt, given the webhooks that came before it existed."""
        follower = ProviderFollower(
            provider_key,
            fetch,
            self._timeline,
            timedelta(seconds=self._request.poll_interval_seconds),
            on_change=self._on_provider_change,
        )
        self._follower, early, self._early = follower, self._early, []
        for event in early:
            if not follower.hint(event):
                self._timeline.add("webhook", event.type, event.status, "ignored: another attempt")
        return follower

    def _on_provider_change(self) -> None:
        if self._follower is None or not self._attempts:
            return
        current, latest = self._attempts[-1], self._follower.latest
        current.provider_state = self._follower.tracker.state
        if latest is not None:
            current.errors = latest.errors
            self._fee = latest.fee if latest.fee is not None else self._fee
        self._tx_hash = self._follower.tx_hash or self._tx_hash
        self._update_details()

    def _set_state(self, state: SagaState, note: str | None) -> None:
        self._state = state
        self._timeline.add("saga", "state", state, note)
        workflow.upsert_search_attributes([sa.PAYOUT_STATE.value_set(state)])
        self._update_details()
        self._notices.send(self._callback_event(note))

    def _callback_event(self, note: str | None) -> CallbackEvent:
        return CallbackEvent(
            event_id=self._notices.next_event_id(),
            payout_key=str(self._request.idempotency_key),
            kind="single",
            state=self._state,
            provider_state=self._provider_state,
            amount=self._request.amount,
            currency=self._request.currency,
            fee=self._fee,
            tx_hash=self._tx_hash,
            reason=note,
            occurred_at=workflow.now(),
        )

    def _update_details(self) -> None:
        address = self._request.deposit_address
        provider = f" (provider {self._provider_state})" if self._provider_state else ""
        workflow.set_current_details(
            f"Pay {self._request.amount} {self._request.currency} to {address[:6]}…{address[-4:]}, "
            f"{self._state}{provider}"
        )
