"""Merchant callbacks with a record: each attempt is written to the `CallbackStore`, the retries
end when the budget is spent (the event is then kept UNDELIVERED), and a replay sends a stored
event again under the same event id (the merchant dedupes by it).

The secret lives here, in the worker: the CLI only reads the store and asks a worker to replay
(`workflows/callback_replay.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from pydantic import BaseModel, Field
from temporalio import activity

from activities.boundary import as_application_errors
from activities.callback_store import (
    AttemptResult,
    CallbackSelection,
    CallbackStore,
    DeliveryState,
    Via,
)
from activities.callbacks import (
    CallbackError,
    CallbackEvent,
    CallbackRejectedError,
    CallbackUnavailableError,
    CallbackUndeliveredError,
    send_callback,
)

log = structlog.get_logger()
DEFAULT_RETRY_BUDGET = timedelta(hours=24)
NOT_CONFIGURED = "callbacks are not configured on this worker (PAYOUTS_CALLBACK_URL)"


class CallbackPlan(BaseModel):
    """The events a replay will send, oldest first; `missing`: named ids the store lacks."""

    event_ids: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    more: bool = False  # more events matched than the selection's limit


class RedeliveryOutcome(BaseModel):
    """What one replayed event gave."""

    event_id: str
    delivered: bool
    delivery: DeliveryState | None = None  # the store's state after the attempt; None: unknown
    http_status: int | None = None
    error: str | None = None


class CallbackOutbox:
    """Sends callbacks to `url` signed with `secret`, and keeps each in `store`.

    Give up on an event when an attempt fails after `retry_budget` since the event was
    scheduled. `close` closes its HTTP client; the store is the caller's."""

    def __init__(
        self,
        store: CallbackStore,
        *,
        url: str | None,
        secret: str | None,
        retry_budget: timedelta = DEFAULT_RETRY_BUDGET,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.retry_budget = retry_budget
        self._url = url
        self._secret = secret
        self._clock = clock
        self._http = httpx.AsyncClient(timeout=10.0)

    @property
    def configured(self) -> bool:
        return bool(self._url and self._secret)

    async def deliver(self, event: CallbackEvent, *, elapsed: timedelta) -> None:
        """One attempt of the saga's activity, `elapsed` after the event was first scheduled.
        Raises `CallbackUnavailableError` to be retried, `CallbackRejectedError` or
        `CallbackUndeliveredError` (budget spent) when the event is now UNDELIVERED."""
        if not self.configured:
            return
        stored = await self.store.open(event, self._clock())
        if stored.delivery is DeliveryState.DELIVERED:  # e.g. a replay was quicker
            return
        attempt, error = await self._attempt(event, "saga")
        spent = isinstance(error, CallbackUnavailableError) and elapsed >= self.retry_budget
        final = _final_state(error, spent)
        stored = await self.store.record(event.event_id, attempt, final)
        if error is None:
            log.info("callback.delivered", event_id=event.event_id, attempts=stored.attempts)
            return
        log.warning("callback.failed", event_id=event.event_id, error=str(error), final=final)
        if spent:
            raise CallbackUndeliveredError(
                f"callback {event.event_id!r} undelivered after {stored.attempts} attempts "
                f"in {_hours(elapsed)} (budget {_hours(self.retry_budget)}); last: {error}"
            ) from error
        raise error

    async def replay(self, event_id: str) -> RedeliveryOutcome:
        """Send a stored event once more, same id; DELIVERED on success, else left as it was."""
        stored = await self.store.get(event_id)
        if stored is None:
            return RedeliveryOutcome(event_id=event_id, delivered=False, error="not in the store")
        if not self.configured:
            return RedeliveryOutcome(
                event_id=event_id, delivered=False, delivery=stored.delivery, error=NOT_CONFIGURED
            )
        attempt, error = await self._attempt(stored.event, "replay")
        final = DeliveryState.DELIVERED if error is None else None
        after = await self.store.record(event_id, attempt, final)
        log.info("callback.replayed", event_id=event_id, outcome=attempt.outcome)
        return RedeliveryOutcome(
            event_id=event_id,
            delivered=error is None,
            delivery=after.delivery,
            http_status=attempt.http_status,
            error=attempt.error,
        )

    async def plan(self, selection: CallbackSelection) -> CallbackPlan:
        found = await self.store.find(selection, limit=selection.limit + 1)
        ids = [stored.event_id for stored in found]
        return CallbackPlan(
            event_ids=ids[: selection.limit],
            missing=_missing(selection.event_ids, ids),
            more=len(ids) > selection.limit,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _attempt(
        self, event: CallbackEvent, via: Via
    ) -> tuple[AttemptResult, CallbackError | None]:
        assert self._url and self._secret
        at = self._clock()
        try:
            status = await send_callback(self._http, self._url, self._secret, event)
        except (CallbackRejectedError, CallbackUnavailableError) as error:
            outcome = "rejected" if isinstance(error, CallbackRejectedError) else "unavailable"
            failed = AttemptResult(
                at=at, via=via, outcome=outcome, http_status=error.http_status, error=str(error)
            )
            return failed, error
        return AttemptResult(at=at, via=via, outcome="delivered", http_status=status), None


class CallbackActivities:
    """The replay workflow's activities, on the worker that holds the outbox."""

    def __init__(self, outbox: CallbackOutbox) -> None:
        self._outbox = outbox

    @activity.defn
    async def find_callbacks(self, selection: CallbackSelection) -> CallbackPlan:
        with as_application_errors():
            return await self._outbox.plan(selection)

    @activity.defn
    async def redeliver_callback(self, event_id: str) -> RedeliveryOutcome:
        with as_application_errors():
            return await self._outbox.replay(event_id)

    def all(self) -> list[Callable[..., Any]]:
        return [self.find_callbacks, self.redeliver_callback]


def _final_state(error: CallbackError | None, spent: bool) -> DeliveryState | None:
    if error is None:
        return DeliveryState.DELIVERED
    if isinstance(error, CallbackRejectedError) or spent:
        return DeliveryState.UNDELIVERED
    return None  # still PENDING: Temporal tries again


def _missing(wanted: Iterable[str], found: list[str]) -> list[str]:
    present = set(found)
    return [event_id for event_id in wanted if event_id not in present]


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} h" if hours >= 1 else f"{span.total_seconds():g} s"
