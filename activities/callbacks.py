"""Tell the merchant's backend about every state change of a payout saga (docs/ledger.md).

    POST <PAYOUTS_CALLBACK_URL>
    Sign: <hex HMAC-SHA512 of the exact body, keyed with PAYOUTS_CALLBACK_SECRET>
    Event-Id: <event_id>
    {"eventId": ..., "payoutKey": ..., "kind": "single", "state": ..., "amount": 12.5, ...}

The caller supplies a deterministic `event_id` (e.g. `<workflow id>/<sequence>`), so a retried
delivery carries the same id and the receiver dedupes by it: 2xx, or 409 "already have it", means
delivered. Errors are split like the ledger's: `CallbackRejectedError` is permanent,
`CallbackUnavailableError` is retryable. This module never retries; Temporal does, and
`activities.callback_outbox` records every attempt and ends the retries when the budget is spent
(`CallbackUndeliveredError`).

`verify_callback` is the receiver's side, small enough for a merchant to copy.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import httpx
from opentelemetry import trace
from pydantic import Field, ValidationError

from activities.provider_metrics import current_meter
from calypso import wire
from calypso.models import IsoDatetime, Money, WireModel
from calypso.signing import sign

_TRACER_NAME = "payouts.callbacks"  # looked up per call: a no-op until a provider is installed


class CallbackError(Exception):
    """Raised when a callback could not be delivered; the base of the delivery errors."""

    retryable = False


class CallbackRejectedError(CallbackError):
    """Raised when the receiver refused the callback with a 4xx (other than 408, 409 or 429)."""

    def __init__(self, message: str, *, http_status: int) -> None:
        super().__init__(message)
        self.http_status = http_status


class CallbackUnavailableError(CallbackError):
    """Raised on 5xx, 408, 429, a timeout or a failed connection: a later attempt may succeed."""

    retryable = True

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status  # None: no answer at all (timeout, no connection)


class CallbackUndeliveredError(CallbackError):
    """Raised when the retry budget is spent: the event is kept as undelivered, for a replay."""


class InvalidCallbackError(ValueError):
    """Raised by `verify_callback` when the signature or the signed body does not check out."""


class CallbackEvent(WireModel):
    """One state change of a payout saga, as the merchant's backend receives it (camelCase)."""

    event_id: Annotated[str, Field(min_length=1)]
    payout_key: str
    kind: Literal["single", "mass"]
    state: str
    amount: Money
    currency: str
    occurred_at: IsoDatetime
    provider_state: str | None = None
    fee: Money | None = None
    tx_hash: str | None = None
    reason: str | None = None
    details: dict[str, Any] | None = None

    def to_body(self) -> bytes:
        """The exact bytes that are signed and sent; every field is present, unset ones null."""
        return wire.dumps(self.model_dump(by_alias=True, mode="python"))


async def send_callback(
    client: httpx.AsyncClient, url: str, secret: str, event: CallbackEvent
) -> int:
    """POST `event` to `url`, signed with `secret`; return the HTTP status once the receiver
    has it (2xx, or 409: it had it already). In a client span, counted by outcome
    (docs/observability.md)."""
    with trace.get_tracer(_TRACER_NAME).start_as_current_span(
        "POST merchant callback",
        kind=trace.SpanKind.CLIENT,
        attributes={"http.request.method": "POST", "callback.event_id": event.event_id},
    ) as span:
        outcome = "error"
        try:
            status = await _post_callback(client, url, secret, event)
            outcome = "delivered"
            span.set_attribute("http.response.status_code", status)
            return status
        except CallbackError as error:
            outcome = "unavailable" if error.retryable else "rejected"
            raise
        finally:
            _count_callback(event.kind, outcome)


def _count_callback(kind: str, outcome: str) -> None:
    current_meter().with_additional_attributes({"kind": kind, "outcome": outcome}).create_counter(
        "payouts_callbacks", "Merchant callback attempts, by outcome"
    ).add(1)


async def _post_callback(
    client: httpx.AsyncClient, url: str, secret: str, event: CallbackEvent
) -> int:
    body = event.to_body()
    headers = {
        "Content-Type": "application/json",
        "Sign": sign(body, secret),
        "Event-Id": event.event_id,
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.TransportError as exc:
        raise CallbackUnavailableError(f"callback {event.event_id!r}: {exc!r}") from exc
    status = response.status_code
    if response.is_success or status == 409:  # 409: the receiver already has this event id
        return status
    detail = f"callback {event.event_id!r} answered HTTP {status}: {response.text[:200]}"
    if status >= 500 or status in (408, 429):
        raise CallbackUnavailableError(detail, http_status=status)
    raise CallbackRejectedError(detail, http_status=status)


def verify_callback(body: bytes, headers: Mapping[str, str], secret: str) -> CallbackEvent:
    """Check the `Sign` header against the raw `body` and return the event it carries.

    Verify the bytes as received, before any JSON parsing: re-serializing changes them. Dedupe by
    the returned `event_id` (it is inside the signed body; the `Event-Id` header is not signed,
    so it must agree with it). Raises `InvalidCallbackError` for anything that does not check out.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    signature = lowered.get("sign")
    if not signature:
        raise InvalidCallbackError("missing Sign header")
    if not hmac.compare_digest(sign(body, secret), signature.strip().lower()):
        raise InvalidCallbackError("Sign does not match the body")
    try:
        event = CallbackEvent.model_validate(wire.loads(body))
    except (ValueError, ValidationError) as exc:
        raise InvalidCallbackError(f"signed body is not a callback event: {exc}") from exc
    header_id = lowered.get("event-id")
    if header_id is not None and header_id != event.event_id:
        raise InvalidCallbackError("Event-Id header does not match the signed eventId")
    return event
