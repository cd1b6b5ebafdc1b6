"""A ledger kept by the merchant's own backend, reached over signed HTTP (docs/ledger.md).

The backend implements `POST {base_url}/reserve`, `/settle` and `/release`. Each body is signed
(`Sign` header, HMAC-SHA512 of the exact bytes) and carries the payout key as `Idempotency-Key`;
the body needs no timestamp against replay because every call is idempotent by that key, so a
replayed body can only return what already happened. This module never retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx
from pydantic import ValidationError

from activities.ledger.errors import (
    InsufficientLedgerFundsError,
    LedgerConflictError,
    LedgerError,
    LedgerNotFoundError,
    LedgerStateError,
    LedgerUnavailableError,
    LedgerUnsupportedError,
)
from activities.ledger.models import (
    EntryState,
    LedgerEntry,
    LedgerRequest,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
)
from activities.ledger.protocol import apply_one
from calypso import wire
from calypso.signing import sign

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# The states a successful answer may carry; anything else means the backend broke the contract
# (e.g. a 200 with a RELEASED entry for a reserve), and the saga must not act on it.
UNSUPPORTED = (
    "the http ledger cannot tell {what}: the merchant's backend keeps the books;"
    " use PAYOUTS_LEDGER=sqlite or postgres"
)
STATES_AFTER = {
    "reserve": {EntryState.RESERVED, EntryState.SETTLED},
    "settle": {EntryState.SETTLED},
    "release": {EntryState.RELEASED},
}


class HttpLedger:
    """A `Ledger` whose calls go to the merchant backend at `base_url`, signed with `secret`.

    Pass `client` to share a pooled `httpx.AsyncClient`; it is then yours to close.
    """

    def __init__(
        self,
        base_url: str,
        secret: str,
        client: httpx.AsyncClient | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)

    def __repr__(self) -> str:
        return f"HttpLedger({self.base_url!r})"  # never the secret

    async def reserve(self, request: ReserveRequest) -> LedgerEntry:
        _refuse_limits([request])
        return await self._post("reserve", request)

    async def settle(self, request: SettleRequest) -> LedgerEntry:
        return await self._post("settle", request)

    async def release(self, request: ReleaseRequest) -> LedgerEntry:
        return await self._post("release", request)

    async def apply_many(self, requests: Sequence[LedgerRequest]) -> list[LedgerEntry]:
        """One call per item; each is idempotent, so a retried batch redoes nothing twice.

        Not atomic: a refusal leaves the items before it applied, and says how many."""
        _refuse_limits(requests)  # before any item moves
        entries: list[LedgerEntry] = []
        for request in requests:
            try:
                entries.append(await apply_one(self, request))
            except InsufficientLedgerFundsError as refused:
                refused.reserved_in_batch = len(entries)
                raise
        return entries

    async def usage(self, sub_account: str, currency: str, window_seconds: int) -> Decimal:
        raise LedgerUnsupportedError(UNSUPPORTED.format(what="spending-limit usage"))

    async def paid_before(self, sub_account: str, address: str) -> bool:
        raise LedgerUnsupportedError(UNSUPPORTED.format(what="whom a sub-account has paid"))

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _post(self, operation: str, request: LedgerRequest) -> LedgerEntry:
        payload = request.to_wire()
        # The contract's reserve body is key, subAccount, currency and amount: limits are
        # refused above, and the recipient's address is not the merchant backend's to keep.
        payload.pop("limits", None)
        payload.pop("address", None)
        body = wire.dumps(payload)
        headers = {
            "Content-Type": "application/json",
            "Sign": sign(body, self._secret),
            "Idempotency-Key": request.key,
        }
        try:
            response = await self._client.post(
                f"{self.base_url}/{operation}", content=body, headers=headers
            )
        except httpx.TransportError as exc:
            # Connect errors and timeouts alike: the call is idempotent, so "maybe it happened"
            # needs no special case, only another attempt.
            raise LedgerUnavailableError(f"ledger {operation} {request.key!r}: {exc!r}") from exc
        if not response.is_success:
            raise error_from_response(request, response.status_code, response.content)
        return _entry_from(operation, request, response.content)


def error_from_response(request: LedgerRequest, status: int, body: bytes) -> LedgerError:
    """Map a non-2xx answer of the merchant backend to the error that says what to do."""
    fields = _json_object(body)
    message = str(fields.get("message") or body[:200].decode(errors="replace") or "")
    detail = f"ledger answered HTTP {status} for {request.key!r}: {message}".rstrip(": ")
    if status >= 500 or status in (408, 429):
        return LedgerUnavailableError(detail)
    if status == 402 and isinstance(request, ReserveRequest):
        # What was asked is ours to state; only what is available comes from the backend.
        return InsufficientLedgerFundsError(
            sub_account=request.sub_account,
            currency=request.currency,
            needed=request.amount,
            available=_decimal(fields.get("available")),
            ledger="http",
        )
    if status == 404:
        return LedgerNotFoundError(detail)
    if status == 409:
        if fields.get("code") == "invalid_state":
            return LedgerStateError(detail)
        return LedgerConflictError(detail)
    return LedgerError(detail)


def _entry_from(operation: str, request: LedgerRequest, body: bytes) -> LedgerEntry:
    try:
        entry = LedgerEntry.model_validate(wire.loads(body))
    except (ValueError, ValidationError) as exc:
        raise LedgerError(f"ledger {operation} {request.key!r}: unreadable entry: {exc}") from exc
    if entry.key != request.key:
        raise LedgerError(f"ledger {operation} {request.key!r} answered for {entry.key!r}")
    if entry.state not in STATES_AFTER[operation]:
        raise LedgerError(f"ledger {operation} {request.key!r} answered a {entry.state} entry")
    return entry


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = wire.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return Decimal(value)
    return None


def _refuse_limits(requests: Sequence[LedgerRequest]) -> None:
    """Spending limits are checked in the transaction that reserves; the merchant's backend
    does not check them, so a reserve that carries any is refused rather than run unchecked."""
    if any(isinstance(request, ReserveRequest) and request.limits for request in requests):
        raise LedgerUnsupportedError(
            "the http ledger cannot enforce spending limits: the merchant's backend keeps the"
            " books; use PAYOUTS_LEDGER=sqlite or postgres, or no limits"
        )
