"""A ledger that keeps nothing, for teams whose money is tracked elsewhere.

It accepts every call and answers with a synthetic entry built from the request alone, so the
saga runs the same code path with or without a ledger. Being stateless, it is trivially
idempotent, and it never refuses: no balance check, no conflict, no state check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

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
    """A `Ledger` that records nothing and refuses nothing."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock

    async def reserve(self, request: ReserveRequest) -> LedgerEntry:
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
        return [await apply_one(self, request) for request in requests]

    async def close(self) -> None:
        return None
