"""The one interface the payout saga's activities use, whichever ledger sits behind it."""

from __future__ import annotations

from typing import Protocol

from .models import LedgerEntry, ReleaseRequest, ReserveRequest, SettleRequest


class Ledger(Protocol):
    """Reserve before paying, settle on COMPLETED, release on FAILED / CANCELED / REJECTED.

    Every call is idempotent by `request.key`: Temporal may run an activity twice, so a repeat
    returns the entry the first call produced instead of moving money again. Failures raise the
    tree in `activities.ledger.errors`.
    """

    async def reserve(self, request: ReserveRequest) -> LedgerEntry: ...

    async def settle(self, request: SettleRequest) -> LedgerEntry: ...

    async def release(self, request: ReleaseRequest) -> LedgerEntry: ...

    async def close(self) -> None: ...
