"""The one interface the payout saga's activities use, whichever ledger sits behind it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class LedgerInsights(Protocol):
    """What a ledger knows of a sub-account's history, for the saga's policy checks.

    Every adapter has these methods; only the SQLite and PostgreSQL ledgers can answer. The
    HTTP ledger and `NoLedger` keep no history here and raise `LedgerUnsupportedError`
    (permanent), as their `reserve` does for a request with spending limits.
    """

    async def usage(self, sub_account: str, currency: str, window_seconds: int) -> Decimal:
        """What counts toward a spending limit of `window_seconds` on the sub-account in
        `currency` now: its entries reserved within the window, RESERVED ones at their amount
        and SETTLED ones at paid amount plus fee (docs/ledger.md, "Spending limits")."""
        ...

    async def paid_before(self, sub_account: str, address: str) -> bool:
        """Whether the sub-account has a SETTLED entry whose reserve named `address`."""
        ...


async def apply_one(ledger: Ledger, request: LedgerRequest) -> LedgerEntry:
    """Send one request of any kind to the matching ledger call."""
    if isinstance(request, ReserveRequest):
        return await ledger.reserve(request)
    if isinstance(request, SettleRequest):
        return await ledger.settle(request)
    return await ledger.release(request)
