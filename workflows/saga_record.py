"""What a saga is and what it has told the world, in one object with one `set_state`.

A state change is written to the timeline, to the `PayoutState` search attribute (what operators
filter on in the Temporal UI), to the UI's current details, and to the merchant's callback, in
that order: the order of the commands is part of every recorded history. The single payout, the
mass payout and each mass deal own one. A deal's record publishes nothing (`publish=False`): its
parent carries the search attributes and the callbacks for the whole list.
Deterministic: runs in workflows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.callbacks import CallbackEvent
    from workflows import search_attributes as sa
    from workflows.merchant_notices import MerchantNotices
    from workflows.payout_models import SagaState
    from workflows.saga_metrics import SagaMetrics
    from workflows.saga_timeline import Timeline

# The merchant's callback for a state change: (state, note, event id) → the event to send.
CallbackFor = Callable[[SagaState, str | None, str], CallbackEvent]


class SagaEnded(Exception):
    """Internal: the saga reached a final state for `reason`; compensation follows."""

    def __init__(self, state: SagaState, reason: str) -> None:
        super().__init__(reason)
        self.state = state
        self.reason = reason


class SagaRecord:
    def __init__(
        self,
        *,
        describe: Callable[[], str],
        callback_for: CallbackFor | None = None,
        publish: bool = True,
        state: SagaState = SagaState.RECEIVED,
        timeline: Timeline | None = None,
    ) -> None:
        """`describe` gives the UI's one-line current details; `callback_for` builds the
        merchant's callback (None: this saga's merchant gets none); `publish=False` keeps the
        search attributes untouched."""
        self.state = state
        self.reason: str | None = None
        self.timeline = timeline or Timeline()
        self._describe = describe
        self._callback_for = callback_for
        self._publish = publish
        self._notices = MerchantNotices(callback_for is not None, self.timeline)
        self._metrics = SagaMetrics(enabled=publish)  # metrics only: no command, no history

    def started(
        self, kind: str, currency: str, external_id: str | None, execution_date: datetime | None
    ) -> None:
        """The search attributes a saga sets once, at its start."""
        self._metrics.started(kind, currency)
        if self._publish:
            workflow.upsert_search_attributes(
                sa.initial(kind, currency, external_id, execution_date)
            )

    def set_state(self, state: SagaState, note: str | None) -> None:
        self.state = state
        self.timeline.add("saga", "state", state, note)
        self._metrics.state_changed(state)
        if self._publish:
            workflow.upsert_search_attributes([sa.PAYOUT_STATE.value_set(state)])
        self.refresh_details()
        if self._callback_for is not None:
            self._notices.send(self._callback_for(state, note, self._notices.next_event_id()))

    async def finish(self, state: SagaState, reason: str | None) -> None:
        """The final state change; returns once every callback has been delivered or noted."""
        self.reason = reason
        self.set_state(state, reason)
        self._metrics.finished(state)
        await self._notices.flush()

    def provider_assigned(self, provider_id: str) -> None:
        """The provider's id for what we sent, searchable as `CalypsoPayoutId`."""
        if self._publish:
            workflow.upsert_search_attributes([sa.CALYPSO_PAYOUT_ID.value_set(provider_id)])

    def rescheduled(self, execution_date: datetime) -> None:
        if self._publish:
            workflow.upsert_search_attributes([sa.PAYOUT_EXECUTION_DATE.value_set(execution_date)])
        self.timeline.add("operator", "rescheduled", None, execution_date.isoformat())

    def refresh_details(self) -> None:
        workflow.set_current_details(self._describe())

    @property
    def detail(self) -> str | None:
        """Why the saga is in its state, e.g. the shortfall while it waits for funds."""
        return self.timeline.latest_note("saga", "state")
