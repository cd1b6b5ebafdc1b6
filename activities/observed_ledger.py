"""The worker's ledger, observed: a span and a latency per call, and the money it moves as
metrics (docs/observability.md) — paid and fees on a settle, released on a release, per
currency. Money is a float here, for metrics only. Whatever else the ledger offers (the
reconciliation's reads, the embedded ledger's books) passes straight through.

Counted per ledger call that returns an entry in the state it asked for: a retried activity
whose first call did move the money (idempotent by key) is counted again, a rare overcount.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from opentelemetry import trace

from activities.ledger import (
    EntryState,
    Ledger,
    LedgerEntry,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
)
from activities.ledger.models import LedgerRequest
from activities.provider_metrics import current_meter

T = TypeVar("T")
_TRACER_NAME = "payouts.ledger"  # looked up per call: a no-op until a provider is installed


class ObservedLedger:
    """A `Ledger` that records what passes through it; `inner` does the work."""

    def __init__(self, inner: Ledger) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def reserve(self, request: ReserveRequest) -> LedgerEntry:
        return await self._timed("reserve", lambda: self._inner.reserve(request))

    async def settle(self, request: SettleRequest) -> LedgerEntry:
        entry = await self._timed("settle", lambda: self._inner.settle(request))
        _record_moved(entry)
        return entry

    async def release(self, request: ReleaseRequest) -> LedgerEntry:
        entry = await self._timed("release", lambda: self._inner.release(request))
        _record_moved(entry)
        return entry

    async def apply_many(self, requests: Sequence[LedgerRequest]) -> list[LedgerEntry]:
        entries = await self._timed("apply_many", lambda: self._inner.apply_many(requests))
        for request, entry in zip(requests, entries, strict=False):
            if not isinstance(request, ReserveRequest):  # a repeated reserve may return it paid
                _record_moved(entry)
        return entries

    async def close(self) -> None:
        await self._inner.close()

    async def _timed(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        with trace.get_tracer(_TRACER_NAME).start_as_current_span(
            f"ledger {operation}",
            kind=trace.SpanKind.CLIENT,
            attributes={"ledger.operation": operation, "ledger.kind": type(self._inner).__name__},
        ):
            started = time.monotonic()
            outcome = "ok"
            try:
                return await call()
            except BaseException as error:
                outcome = type(error).__name__
                raise
            finally:
                meter = current_meter().with_additional_attributes(
                    {"operation": operation, "outcome": outcome}
                )
                meter.create_histogram_float(
                    "payouts_ledger_request_duration_seconds", "Ledger call latency", "s"
                ).record(time.monotonic() - started)


def _record_moved(entry: LedgerEntry) -> None:
    if entry.currency is None:  # a release tombstone: nothing was reserved
        return
    meter = current_meter().with_additional_attributes({"currency": entry.currency})
    if entry.state == EntryState.SETTLED:
        meter.create_histogram_float("payouts_paid_amount", "Amounts paid (settled)").record(
            float(entry.paid_amount if entry.paid_amount is not None else entry.amount)
        )
        meter.create_histogram_float("payouts_fee_amount", "Fees paid (settled)").record(
            float(entry.fee or 0)
        )
    elif entry.state == EntryState.RELEASED:
        meter.create_histogram_float(
            "payouts_released_amount", "Amounts released (not paid)"
        ).record(float(entry.amount))
