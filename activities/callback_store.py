"""The callback outbox's record: every merchant callback, each delivery attempt, its final state.

The delivery activity writes it (`activities.callback_outbox`); every worker and the CLI read it
(`payouts callbacks list`). An event is PENDING while the saga's activity is still trying,
DELIVERED once the merchant has it, and UNDELIVERED when the merchant refused it or the retry
budget ran out: it stays there, a dead letter, until a replay delivers it. DELIVERED is final.

`CallbackStore` is the one interface; `SqliteCallbackStore` (`callback_store_sqlite.py`) is the
embedded one. A PostgreSQL store, for workers on several machines, implements the same protocol.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, Field, model_validator

from activities.callbacks import CallbackError, CallbackEvent


class CallbackStoreUnavailableError(CallbackError):
    """Raised when the store cannot be read or written (locked, disk, path): try again later."""

    retryable = True


class DeliveryState(StrEnum):
    PENDING = "PENDING"  # the saga's activity is still trying
    DELIVERED = "DELIVERED"  # the merchant answered 2xx or 409 (already had it)
    UNDELIVERED = "UNDELIVERED"  # refused, or the retry budget ran out: a replay may deliver it


Outcome = Literal["delivered", "unavailable", "rejected"]
Via = Literal["saga", "replay"]


class AttemptResult(BaseModel):
    """What one POST to the merchant gave."""

    at: datetime
    via: Via
    outcome: Outcome
    http_status: int | None = None  # None: no answer (timeout, no connection)
    error: str | None = None


class DeliveryAttempt(AttemptResult):
    """One recorded attempt: the n-th of its event (1-based)."""

    event_id: str
    number: int


class StoredCallback(BaseModel):
    """An event as the store keeps it: the exact event sent, and where its delivery stands."""

    event_id: str
    payout_key: str
    kind: str
    state: str  # the saga state the event reports
    occurred_at: datetime
    delivery: DeliveryState
    attempts: int
    first_seen_at: datetime
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    undelivered_at: datetime | None = None
    last_error: str | None = None
    event: CallbackEvent
    attempt_log: list[DeliveryAttempt] = Field(default_factory=list)  # filled on request


class CallbackSelection(BaseModel):
    """Which events to list or replay: the filters that are set must all hold."""

    event_ids: list[str] = Field(default_factory=list)
    payout_key: str | None = None
    undelivered_only: bool = False
    limit: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _not_everything(self) -> CallbackSelection:
        if not (self.event_ids or self.payout_key or self.undelivered_only):
            raise ValueError("name event ids, a payout key or undelivered events")
        return self


class CallbackStore(Protocol):
    """Idempotent by event id. Failures raise `CallbackStoreUnavailableError` (retryable)."""

    async def open(self, event: CallbackEvent, now: datetime) -> StoredCallback:
        """The stored record of `event`, added (PENDING) if it is new; never overwritten."""
        ...

    async def record(
        self, event_id: str, attempt: AttemptResult, final: DeliveryState | None
    ) -> StoredCallback:
        """Append an attempt to an opened event, and move it to `final` if given: DELIVERED at
        any time; UNDELIVERED unless it is DELIVERED (that is final)."""
        ...

    async def get(self, event_id: str) -> StoredCallback | None: ...

    async def find(
        self,
        selection: CallbackSelection | None = None,
        *,
        limit: int = 50,
        newest_first: bool = False,
        with_attempts: bool = False,
    ) -> list[StoredCallback]:
        """Events matching `selection` (every event when None), by the time they occurred."""
        ...

    async def close(self) -> None: ...
