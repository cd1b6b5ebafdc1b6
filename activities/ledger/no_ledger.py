"""A ledger that keeps nothing, for teams whose money is tracked elsewhere.

It accepts every call and answers with a synthetic entry built from the request alone, so the
saga runs the same code path with or without a ledger. Being stateless, it is trivially
idempotent, and it refuses nothing it could check: no balance check, no conflict, no state
check. What it cannot do it says: a reserve with spending limits, and the history queries
(`usage`, `paid_before`), raise `LedgerUnsupportedError`, since nothing here could enforce or
answer them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from activities.ledger.errors import LedgerUnsupportedError
from activities.ledger.models import (
    EntryState,
    LedgerEntry,
    LedgerRequest,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
    utc_now,
)
from activities.ledger.protocol import apply_one


class NoLedger:
    """A `Ledger` that records nothing and refuses nothing (but spending limits it cannot
    enforce)."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock

    async def reserve(self, request: ReserveRequest) -> LedgerEntry:
        _refuse_limits([request])
        return LedgerEntry(
            key=request.key,
            sub_account=request.sub_account,
            currency=request.currency,
            amount=request.amount,
            state=EntryState.RESERVED,
            updated_at=self._clock(),
        )

    async def settle(self, request: SettleRequest) -> LedgerEntry:
        # The reservation was not kept, so what was paid stands in for what was reserved.
        return LedgerEntry(
            key=request.key,
            sub_account=None,
            currency=None,
            amount=request.paid_amount,
            state=EntryState.SETTLED,
            paid_amount=request.paid_amount,
            fee=request.fee,
            updated_at=self._clock(),
        )

    async def release(self, request: ReleaseRequest) -> LedgerEntry:
        return LedgerEntry(
            key=request.key,
            sub_account=None,
            currency=None,
            amount=Decimal(0),
            state=EntryState.RELEASED,
            reason=request.reason,
            updated_at=self._clock(),
        )

    async def apply_many(self, requests: Sequence[LedgerRequest]) -> list[LedgerEntry]:
        """One call per item; each is idempotent, so a retried batch redoes nothing twice."""
        _refuse_limits(requests)
        return [await apply_one(self, request) for request in requests]

    async def usage(self, sub_account: str, currency: str, window_seconds: int) -> Decimal:
        raise LedgerUnsupportedError(
            "PAYOUTS_LEDGER=none keeps no books: it cannot tell spending-limit usage"
        )

    async def paid_before(self, sub_account: str, address: str) -> bool:
        raise LedgerUnsupportedError(
            "PAYOUTS_LEDGER=none keeps no books: it cannot tell whom a sub-account has paid"
        )

    async def close(self) -> None:
        return None


def _refuse_limits(requests: Sequence[LedgerRequest]) -> None:
    if any(isinstance(request, ReserveRequest) and request.limits for request in requests):
        raise LedgerUnsupportedError(
            "PAYOUTS_LEDGER=none keeps no books: it cannot enforce spending limits;"
            " use PAYOUTS_LEDGER=sqlite or postgres, or no limits"
        )
