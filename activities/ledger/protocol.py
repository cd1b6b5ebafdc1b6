"""The one interface the payout saga's activities use, whichever ledger sits behind it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from activities.ledger.models import (
    LedgerEntry,
    LedgerRequest,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
)


class Ledger(Protocol):
    """Reserve before paying, settle on COMPLETED, release on FAILED / CANCELED / REJECTED.

    Every call is idempotent by `request.key`: Temporal may run an activity twice, so a repeat
    returns the entry the first call produced instead of moving money again. Failures raise the
    tree in `activities.ledger.errors`.
    """

    async def reserve(self, request: ReserveRequest) -> LedgerEntry: ...

    async def settle(self, request: SettleRequest) -> LedgerEntry: ...

    async def release(self, request: ReleaseRequest) -> LedgerEntry: ...

    async def apply_many(self, requests: Sequence[LedgerRequest]) -> list[LedgerEntry]:
        """Many items at once (a mass payout's); each one idempotent by its key, as above."""
        ...

    async def close(self) -> None: ...


async def apply_one(ledger: Ledger, request: LedgerRequest) -> LedgerEntry:
    """Send one request of any kind to the matching ledger call."""
    if isinstance(request, ReserveRequest):
        return await ledger.reserve(request)
    if isinstance(request, SettleRequest):
        return await ledger.settle(request)
    return await ledger.release(request)
