"""The saga's memory and how it is shown: provider hints applied in order, timeline, details.

The workflow class in `single_payout.py` drives the steps; this base class keeps what it learned
(attempts, provider state, fee, hash), folds webhooks and API reads into it forward-only, and
publishes it: search attributes, the UI's current details, merchant callbacks, the status query.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.callbacks import CallbackEvent
    from activities.payout_activities import PayoutActivities
    from activities.payout_models import ProviderPayout

    from . import search_attributes as sa
    from .payout_models import (
        Attempt,
        PayoutInput,
        PayoutStatus,
        ProviderEvent,
        SagaState,
    )
    from .provider_tracking import FINAL_PROVIDER_STATES, ProviderTracker
    from .saga_timeline import Timeline

CALL: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
    ),
}


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
        self._tracker = ProviderTracker()
        self._confirmed_final: ProviderPayout | None = None
        self._needs_confirmation = False
        self._events: list[ProviderEvent] = []
        self._fee: Decimal | None = None
        self._tx_hash: str | None = None
        self._next_poll_at: datetime | None = None
        self._timeline = Timeline()
        self._notifications: list[Any] = []

    def _snapshot(self) -> PayoutStatus:
        current = self._attempts[-1] if self._attempts else None
        return PayoutStatus(
            key=self._request.idempotency_key,
            state=self._state,
            provider_state=self._tracker.state,
            provider_id=current.provider_id if current else None,
            amount=self._request.amount,
            currency=self._request.currency,
            deposit_address=self._request.deposit_address,
            fee=self._fee,
            tx_hash=self._tx_hash,
            reason=self._reason,
            errors=current.errors if current else [],
            attempts=self._attempts,
            execution_date=self._execution_date,
            next_poll_at=self._next_poll_at,
            timeline=self._timeline.entries,
        )

    # ------------------------------------------------------------------------------

    def _drain_events(self) -> None:
        current = self._attempts[-1]
        while self._events:
            event = self._events.pop(0)
            if (
                event.provider_key != current.provider_key
                and event.provider_id != current.provider_id
            ):
                self._timeline.add("webhook", event.type, event.status, "ignored: another attempt")
                continue
            if self._tracker.is_duplicate(event.type, event.status, event.tx_hash):
                self._timeline.add("webhook", event.type, event.status, "ignored: duplicate")
                continue
            if event.tx_hash and not self._tx_hash:
                self._tx_hash = event.tx_hash
            known = self._tracker.state
            moved = self._tracker.observe(event.status)
            note = None
            if not moved and event.type == "PAYOUT_CHANGE_STATUS":
                note = "already known" if event.status == known else "ignored: stale"
            self._timeline.add("webhook", event.type, event.status, note)
            if moved:
                current.provider_state = self._tracker.state
                self._needs_confirmation = self._tracker.final
                self._update_details()

    def _apply(self, payout: ProviderPayout, source: str) -> None:
        """A payout read from the provider's API: authoritative for final states."""
        current = self._attempts[-1]
        moved = self._tracker.observe(payout.state)
        if payout.state in FINAL_PROVIDER_STATES:
            self._tracker.state = payout.state
            self._confirmed_final = payout
        if moved or self._confirmed_final is payout:
            self._timeline.add(source, "payout", payout.state, None)
        current.provider_state = self._tracker.state
        current.errors = payout.errors
        self._fee = payout.fee if payout.fee is not None else self._fee
        self._tx_hash = payout.tx_hash or self._tx_hash
        self._update_details()

    def _set_state(self, state: SagaState, note: str | None) -> None:
        self._state = state
        self._timeline.add("saga", "state", state, note)
        workflow.upsert_search_attributes([sa.PAYOUT_STATE.value_set(state)])
        self._update_details()
        if self._request.notify_merchant:
            self._notifications.append(
                workflow.start_activity_method(
                    PayoutActivities.notify_merchant, self._callback_event(note), **CALL
                )
            )

    def _callback_event(self, note: str | None) -> CallbackEvent:
        return CallbackEvent(
            event_id=f"{workflow.info().workflow_id}/{len(self._timeline.entries)}",
            payout_key=str(self._request.idempotency_key),
            kind="single",
            state=self._state,
            provider_state=self._tracker.state,
            amount=self._request.amount,
            currency=self._request.currency,
            fee=self._fee,
            tx_hash=self._tx_hash,
            reason=note,
            occurred_at=workflow.now(),
        )

    def _update_details(self) -> None:
        address = self._request.deposit_address
        provider = f" (provider {self._tracker.state})" if self._tracker.state else ""
        workflow.set_current_details(
            f"Pay {self._request.amount} {self._request.currency} to {address[:6]}…{address[-4:]}, "
            f"{self._state}{provider}"
        )
