"""Merchant callbacks from a saga: one per state change, never able to fail the saga.

A merchant backend that refuses or cannot take a callback must not undo a payout: the activity is
retried by Temporal while it is transient, up to the worker's retry budget; then, or on a
permanent refusal, the event stays UNDELIVERED in the callback store (for `payouts callbacks
replay`) and the saga only writes it down: in its timeline, and from there in its status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.callbacks import CallbackEvent
    from activities.payout_activities import PayoutActivities
    from workflows.activity_options import CALLBACK
    from workflows.payout_models import TimelineEntry
    from workflows.saga_timeline import Timeline

# The timeline entry of an undelivered callback: ("saga", "callback"), "<event id> not delivered: …"
UNDELIVERED = " not delivered: "


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
        # Scheduled now, in order with the saga's other commands; awaited at the end. The retry
        # policy is no part of the command's identity: changing it replays (tests/histories).
        handle = workflow.start_activity_method(PayoutActivities.notify_merchant, event, **CALLBACK)
        self._pending.append(asyncio.create_task(self._settle(handle, event.event_id)))

    async def flush(self) -> None:
        await asyncio.gather(*self._pending)

    async def _settle(self, handle: Any, event_id: str) -> None:
        try:
            await handle
        except ActivityError as error:
            # Refused, or the retry budget is spent: the store keeps it UNDELIVERED for a replay.
            self._timeline.add("saga", "callback", None, f"{event_id}{UNDELIVERED}{error.cause}")


def undelivered_callbacks(entries: Iterable[TimelineEntry]) -> list[str]:
    """The event ids this saga's timeline says were not delivered, in the order it learnt it."""
    return [
        entry.note.split(UNDELIVERED, 1)[0]
        for entry in entries
        if entry.source == "saga"
        and entry.event == "callback"
        and entry.note
        and UNDELIVERED in entry.note
    ]
