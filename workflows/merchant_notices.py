"""Merchant callbacks from a saga: one per state change, never able to fail the saga.

A merchant backend that refuses or cannot take a callback must not undo a payout: the activity is
retried by Temporal while it is transient, and a permanent refusal is only written down.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.callbacks import CallbackEvent
    from activities.payout_activities import PayoutActivities
    from workflows.activity_options import CALL
    from workflows.saga_timeline import Timeline


class MerchantNotices:
    def __init__(self, enabled: bool, timeline: Timeline) -> None:
        self._enabled = enabled
        self._timeline = timeline
        self._sent = 0
        self._pending: list[asyncio.Task[None]] = []

    def next_event_id(self) -> str:
        """Unique per saga and stable on replay: the workflow id and a sequence number."""
        self._sent += 1
        return f"{workflow.info().workflow_id}/{self._sent}"

    def send(self, event: CallbackEvent) -> None:
        """Send one state change, if this saga's merchant wants callbacks at all."""
        if not self._enabled:
            return
        # Scheduled now, in order with the saga's other commands; awaited at the end.
        handle = workflow.start_activity_method(PayoutActivities.notify_merchant, event, **CALL)
        self._pending.append(asyncio.create_task(self._settle(handle, event.event_id)))

    async def flush(self) -> None:
        await asyncio.gather(*self._pending)

    async def _settle(self, handle: Any, event_id: str) -> None:
        try:
            await handle
        except ActivityError as error:
            self._timeline.add("saga", "callback", None, f"{event_id} not delivered: {error.cause}")
