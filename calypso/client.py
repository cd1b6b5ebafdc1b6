"""Async, signed client for the Calypso payout API (docs/provider-api.md §1, §3, §5, §6).

One pooled `httpx.AsyncClient` per `CalypsoClient`. Every call builds the envelope, serializes it
once, signs exactly those bytes and sends them. Errors come back as the tree in `errors.py`; this
module never retries: Temporal's retry policy is the only retry loop. Each request runs in an
OpenTelemetry client span and is told to the optional `observe` hook (the worker's metrics,
docs/observability.md).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from uuid import UUID

import httpx
from opentelemetry import trace
from pydantic import ValidationError

from calypso import wire
from calypso.errors import (
    CalypsoError,
    ConnectionFailedError,
    OutcomeUnknownError,
    ServerError,
    UnexpectedResponseError,
    error_from_response,
)
from calypso.models import (
    Account,
    FeeQuoteResult,
    MassPayout,
    Page,
    Payout,
    WebhookSubscription,
    WireModel,
    Withdrawal,
)
from calypso.pacing import CallPacer, retry_after_seconds
from calypso.requests import (
    CancelPayoutRequest,
    CreateMassPayoutRequest,
    CreatePayoutRequest,
    CreateWebhookSubscriptionRequest,
    DeleteWebhookSubscriptionRequest,
    FeeQuoteItem,
    FeeQuoteRequest,
    ListPayoutsRequest,
    ListWithdrawalsRequest,
    PayoutLookup,
    WithdrawalLookup,
)
from calypso.signing import sign

ModelT = TypeVar("ModelT", bound=WireModel)
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# Told of every request once it ends: (endpoint path, outcome, seconds). The outcome is "ok" or
# the name of the error raised (`errors.py`), a short fixed set: fit for a metric's label.
RequestObserver = Callable[[str, str, float], None]
_TRACER_NAME = "calypso.client"  # looked up per request: a no-op until a provider is installed


@dataclass(frozen=True)
class CalypsoCredentials:
    """Who we are to the provider. The secret never appears in repr or logs."""

    account: str
    api_key: str
    api_secret: str = field(repr=False)


class CalypsoClient:
    """Signed calls to one Calypso API base URL with one set of credentials."""

    def __init__(
        self,
        base_url: str,
        credentials: CalypsoCredentials,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        calls_per_second: float | None = None,
        observe: RequestObserver | None = None,
    ) -> None:
        self._credentials = credentials
        self._observe = observe
        self._clock = clock
        # None: no pacing (the provider's 429 and its Retry-After still slow us down).
        self._pacer = CallPacer(calls_per_second) if calls_per_second else None
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> CalypsoClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- single payouts ---------------------------------------------------------------------------

    async def create_payout(self, request: CreatePayoutRequest) -> Payout:
        return await self._call("/api/v1/payout/create", request, Payout)

    async def get_payout(
        self, *, id: str | None = None, idempotency_key: UUID | None = None
    ) -> Payout:
        lookup = PayoutLookup(id=id, idempotency_key=idempotency_key)
        return await self._call("/api/v1/payout", _exactly_one(lookup), Payout)

    async def cancel_payout(self, request: CancelPayoutRequest) -> Payout:
        return await self._call("/api/v1/payout/cancel", request, Payout)

    async def list_payouts(self, request: ListPayoutsRequest) -> Page[Payout]:
        return await self._call("/api/v1/payout/all", request, Page[Payout])

    # --- mass payouts -----------------------------------------------------------------------------

    async def create_mass_payout(self, request: CreateMassPayoutRequest) -> MassPayout:
        return await self._call("/api/v1/payout/mass/create", request, MassPayout)

    async def get_mass_payout(
        self, *, id: str | None = None, idempotency_key: UUID | None = None
    ) -> MassPayout:
        lookup = PayoutLookup(id=id, idempotency_key=idempotency_key)
        return await self._call("/api/v1/payout/mass", _exactly_one(lookup), MassPayout)

    async def cancel_mass_payout(self, request: CancelPayoutRequest) -> MassPayout:
        return await self._call("/api/v1/payout/mass/cancel", request, MassPayout)

    async def list_mass_payouts(self, request: ListPayoutsRequest) -> Page[MassPayout]:
        return await self._call("/api/v1/payout/mass/all", request, Page[MassPayout])

    # --- withdrawals (the transactions of a payout) -------------------------------------------

    async def get_withdrawal(self, request_id: str) -> Withdrawal:
        lookup = WithdrawalLookup(request_id=request_id)
        return await self._call("/api/v1/payout/withdrawal", lookup, Withdrawal)

    async def list_withdrawals(self, request: ListWithdrawalsRequest) -> Page[Withdrawal]:
        return await self._call("/api/v1/payout/withdrawal/all", request, Page[Withdrawal])

    # --- balance and commission -------------------------------------------------------------------

    async def get_account(self) -> Account:
        return await self._call("/api/v1/account", None, Account)

    async def quote_fees(self, items: list[FeeQuoteItem]) -> FeeQuoteResult:
        request = FeeQuoteRequest(items=items)
        return await self._call(
            "/api/v1/tariff/extended-fee", request, FeeQuoteResult, with_account=False
        )

    # --- webhook subscriptions --------------------------------------------------------------------

    async def list_webhook_subscriptions(self) -> list[WebhookSubscription]:
        body = await self._send("POST", "/api/v1/subscription/webhook", None)
        if not isinstance(body, list):
            raise UnexpectedResponseError("expected a list of webhook subscriptions")
        return [_parse(item, WebhookSubscription) for item in body]

    async def create_webhook_subscription(
        self, request: CreateWebhookSubscriptionRequest
    ) -> WebhookSubscription:
        return await self._call("/api/v1/subscription/webhook/create", request, WebhookSubscription)

    async def delete_webhook_subscription(self, request_id: UUID) -> WebhookSubscription:
        request = DeleteWebhookSubscriptionRequest(request_id=request_id)
        body = await self._send("DELETE", "/api/v1/subscription/webhook", request)
        return _parse(body, WebhookSubscription)

    # --- transport --------------------------------------------------------------------------------

    async def _call(
        self,
        path: str,
        payload: WireModel | None,
        model: type[ModelT],
        *,
        with_account: bool = True,
    ) -> ModelT:
        body = await self._send("POST", path, payload, with_account=with_account)
        return _parse(body, model)

    async def _send(
        self,
        method: str,
        path: str,
        payload: WireModel | None,
        *,
        with_account: bool = True,
    ) -> Any:
        """One request in a client span (the activity's span is its parent), told to `observe`."""
        attributes = {"http.request.method": method, "url.path": path, "calypso.endpoint": path}
        with trace.get_tracer(_TRACER_NAME).start_as_current_span(
            f"{method} {path}", kind=trace.SpanKind.CLIENT, attributes=attributes
        ) as span:
            started = time.monotonic()
            outcome = "ok"
            try:
                body = await self._exchange(method, path, payload, with_account=with_account)
                span.set_attribute("http.response.status_code", 200)
                return body
            except BaseException as error:
                outcome = type(error).__name__
                status = getattr(error, "http_status", None)
                if isinstance(status, int):
                    span.set_attribute("http.response.status_code", status)
                raise
            finally:
                span.set_attribute("calypso.outcome", outcome)
                self._observed(path, outcome, time.monotonic() - started)

    def _observed(self, path: str, outcome: str, seconds: float) -> None:
        """Tell the observer; a failing observer never fails the request it observes."""
        if self._observe is not None:
            with contextlib.suppress(Exception):
                self._observe(path, outcome, seconds)

    async def _exchange(
        self,
        method: str,
        path: str,
        payload: WireModel | None,
        *,
        with_account: bool = True,
    ) -> Any:
        if self._pacer is not None:
            await self._pacer.wait_turn()  # before signing: the timestamp is the send time
        envelope: dict[str, Any] = {}
        if with_account:
            envelope["account"] = self._credentials.account
        envelope["timestamp"] = int(self._clock() * 1000)
        if payload is not None:
            envelope["payload"] = payload.to_wire()
        content = wire.dumps(envelope)
        headers = {
            "Key": self._credentials.api_key,
            "Sign": sign(content, self._credentials.api_secret),
            "Content-Type": "application/json",
        }
        try:
            response = await self._http.request(method, path, content=content, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectionFailedError(f"{path}: could not connect: {exc!r}") from exc
        except httpx.TransportError as exc:
            # Sent (or partly sent) with no answer: the provider may have acted on it.
            raise OutcomeUnknownError(f"{path}: no response: {exc!r}") from exc
        if response.status_code != 200:
            error = error_from_response(response.status_code, response.content)
            if isinstance(error, ServerError):  # 429, or a 5xx that says when to come back
                error.retry_after = retry_after_seconds(
                    response.headers.get("Retry-After"), now=self._clock()
                )
            raise error
        try:
            return wire.loads(response.content)
        except ValueError as exc:
            raise UnexpectedResponseError(f"{path}: response is not JSON") from exc


def _parse(body: Any, model: type[ModelT]) -> ModelT:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise UnexpectedResponseError(f"unreadable {model.__name__}: {exc}") from exc


def _exactly_one(lookup: PayoutLookup) -> PayoutLookup:
    if (lookup.id is None) == (lookup.idempotency_key is None):
        raise ValueError("look a payout up by exactly one of id or idempotency_key")
    return lookup


__all__ = ["CalypsoClient", "CalypsoCredentials", "CalypsoError"]
