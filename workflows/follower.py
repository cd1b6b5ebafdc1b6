"""Following one provider payout (or mass deal) until the API confirms a final state.

Webhooks arrive as hints (`hint`) and move the state only forward; an API read (`apply`) is
authoritative for final states. `follow` applies hints as they come and polls when none came for
a poll interval, doubling the interval while nothing happens. Deterministic: runs in workflows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payout_models import ProviderPayout
    from workflows.payout_models import ProviderEvent
    from workflows.provider_tracking import FINAL_PROVIDER_STATES, ProviderTracker
    from workflows.saga_timeline import Timeline

POLL_BACKOFF_CAP = 32  # the poll interval doubles while nothing happens, up to 32 times


class ProviderFollower:
    def __init__(
        self,
        provider_key: UUID,
        fetch: Callable[[UUID], Awaitable[ProviderPayout]],
        timeline: Timeline,
        poll_interval: timedelta,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.provider_key = provider_key
        self.provider_id: str | None = None
        self.tracker = ProviderTracker()
        self.confirmed_final: ProviderPayout | None = None
        self.latest: ProviderPayout | None = None
        self.tx_hash: str | None = None
        self.next_poll_at: datetime | None = None
        self._on_change = on_change  # the saga's bookkeeping, told of every new fact
        self._fetch = fetch
        self._timeline = timeline
        self._poll_interval = poll_interval
        self._events: list[ProviderEvent] = []
        self._needs_confirmation = False

    def hint(self, event: ProviderEvent) -> bool:
        """Queue a webhook if it is about this payout; False when it belongs elsewhere."""
        if event.provider_key != self.provider_key and (
            self.provider_id is None or event.provider_id != self.provider_id
        ):
            return False
        self._events.append(event)
        return True

    def apply(self, payout: ProviderPayout, source: str) -> None:
        """A payout read from the provider's API: authoritative for final states."""
        self.provider_id = payout.id
        self.latest = payout
        moved = self.tracker.observe(payout.state)
        if payout.state in FINAL_PROVIDER_STATES:
            self.tracker.state = payout.state
            self.confirmed_final = payout
        if moved or self.confirmed_final is payout:
            self._timeline.add(source, "payout", payout.state, None)
        self.tx_hash = payout.tx_hash or self.tx_hash
        self._on_change()

    async def follow(self, interrupt: Callable[[], bool] = lambda: False) -> ProviderPayout | None:
        """Until the final state is confirmed (returned), or `interrupt()` turns true (None)."""
        base = self._poll_interval
        interval = base
        last_hint = workflow.now()
        timer: asyncio.Task[None] | None = None
        try:
            while self.confirmed_final is None:
                if interrupt():
                    return None
                if self._events:
                    self._drain()
                    last_hint, interval = workflow.now(), base
                if self._needs_confirmation:
                    self._needs_confirmation = False
                    self.apply(await self._fetch(self.provider_key), "api")
                    continue
                if timer is None:
                    self.next_poll_at = last_hint + interval
                    wait = max(self.next_poll_at - workflow.now(), timedelta(0))
                    timer = asyncio.create_task(asyncio.sleep(wait.total_seconds()))
                poll_due: asyncio.Task[None] = timer
                await workflow.wait_condition(
                    lambda: (
                        bool(self._events)
                        or poll_due.done()  # noqa: B023 - awaited right here
                        or self.confirmed_final is not None
                        or interrupt()
                    )
                )
                if timer.done():
                    timer = None
                    if workflow.now() - last_hint >= interval:
                        self.apply(await self._fetch(self.provider_key), "poll")
                        last_hint = workflow.now()
                        interval = min(interval * 2, base * POLL_BACKOFF_CAP)
            return self.confirmed_final
        finally:
            self.next_poll_at = None
            if timer is not None:
                timer.cancel()

    def _drain(self) -> None:
        while self._events:
            event = self._events.pop(0)
            if self.tracker.is_duplicate(event.type, event.status, event.tx_hash):
                self._timeline.add("webhook", event.type, event.status, "ignored: duplicate")
                continue
            if event.tx_hash:
                self.tx_hash = self.tx_hash or event.tx_hash
            known = self.tracker.state
            moved = self.tracker.observe(event.status)
            note = None
            if not moved and event.type == "PAYOUT_CHANGE_STATUS":
                note = "already known" if event.status == known else "ignored: stale"
            self._timeline.add("webhook", event.type, event.status, note)
            if moved:
                self._needs_confirmation = self.tracker.final
                self._on_change()
