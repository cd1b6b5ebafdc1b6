"""Which webhooks are worth a signal. Each signal is a billable Temporal action and a workflow
task; a saga acts on few of the provider's events, so the receiver hands over only those that can
change what the saga does, and acknowledges the rest (counted and logged, never an error).

Forwarded: final states (the saga confirms them through the API), `PENDING_CONFIRMATION` (starts
the confirmation clock), validation errors (read at once), transaction hashes, and anything the
client does not know (an unknown state asks for review). Skipped: the progress steps the saga
needs nothing from — `CREATED` / `CREATION_IN_PROGRESS` (the create call's own answer says so),
`CONFIRMED` (and `PAYOUT_CONFIRMED`, the same news) and `IN_PROGRESS` — and an exact copy of a
webhook this receiver has just delivered. A saga that hears nothing polls on its own, so a
skipped step is seen at the next poll at the latest. `PAYOUTS_WEBHOOKS_FORWARD=all` forwards
every webhook, for operators who want every step in the saga's timeline.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from calypso.models import PayoutState, WebhookEvent, WebhookEventType

FORWARD_MODES = ("news", "all")
PROGRESS_ONLY = frozenset(
    {
        PayoutState.CREATED,
        PayoutState.CREATION_IN_PROGRESS,
        PayoutState.CONFIRMED,
        PayoutState.IN_PROGRESS,
    }
)
RECENT_DELIVERIES = 10_000  # exact copies remembered per receiver process


def skip_reason(event: WebhookEvent) -> str | None:
    """Why `event` is not worth a signal (a short label for logs and metrics); None: send it."""
    if event.type == WebhookEventType.PAYOUT_CONFIRMED:
        return "progress"
    if event.type == WebhookEventType.PAYOUT_CHANGE_STATUS and event.payout_status in PROGRESS_ONLY:
        return "progress"
    return None


class RecentDeliveries:
    """The bodies this receiver delivered lately (by digest), to drop exact duplicates."""

    def __init__(self, size: int = RECENT_DELIVERIES) -> None:
        self._size = size
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def seen(self, body: bytes) -> bool:
        return hashlib.sha256(body).digest() in self._seen

    def delivered(self, body: bytes) -> None:
        self._seen[hashlib.sha256(body).digest()] = None
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)
