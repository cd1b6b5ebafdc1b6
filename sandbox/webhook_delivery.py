"""One webhook delivery attempt: sign the body with the subscription's secret, POST it, log it.

Also the provider's retry schedule, which WebhookSender follows after a failed attempt."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from sandbox.clock import iso_utc
from sandbox.records import Subscription
from sandbox.signing import sign_body

log = structlog.get_logger("sandbox.webhooks")

# The provider retries a non-200 answer 19 times, 30 s apart at first and up to ~34 h apart.
# Its exact list is not published: this one grows like Fibonacci from 30 s / 60 s and is
# capped at 34 h. Multiplied by `webhookTimeScale` (tests use 0.001: 30 s becomes 30 ms).
RETRY_DELAYS_SECONDS: tuple[float, ...] = (
    30, 60, 90, 150, 240, 390, 630, 1020, 1650, 2670,
    4320, 6990, 11310, 18300, 29610, 47910, 77520, 122400, 122400,
)  # fmt: skip
DELIVERY_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Delivery:
    subscription: Subscription
    event: dict[str, Any]
    body: bytes  # the same bytes, hence the same signature, on every attempt
    not_before: float  # event-loop time before which the first attempt must not leave
    duplicate: bool


async def attempt_delivery(
    client: httpx.AsyncClient,
    delivery: Delivery,
    attempt: int,
    attempts_log: deque[dict[str, Any]],
) -> bool:
    """POST the event once; True only for HTTP 200, the provider's idea of success."""
    sub = delivery.subscription
    headers = {
        "Key": sub.public_key,
        "Sign": sign_body(delivery.body, sub.secret_key),
        "Content-Type": "application/json",
    }
    status: int | None = None
    error: str | None = None
    try:
        response = await client.post(sub.url, content=delivery.body, headers=headers)
        status = response.status_code
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    delivered = status == 200
    outcome = "delivered" if delivered else "failed"
    record_attempt(
        attempts_log, sub, delivery.event, attempt, outcome, status, error, delivery.duplicate
    )
    log.info(
        f"sandbox.webhook.{outcome}",
        type=delivery.event["type"],
        payout_id=delivery.event["parentExternalId"],
        attempt=attempt,
        status_code=status,
        error=error,
    )
    return delivered


def record_attempt(
    attempts_log: deque[dict[str, Any]],
    sub: Subscription,
    event: dict[str, Any],
    attempt: int,
    outcome: str,
    status: int | None = None,
    error: str | None = None,
    duplicate: bool = False,
) -> None:
    attempts_log.append(
        {
            "at": iso_utc(datetime.now(UTC)),
            "subscriptionRequestId": sub.request_id,
            "url": sub.url,
            "event": event,
            "attempt": attempt,
            "outcome": outcome,
            "dropped": outcome == "dropped",
            "statusCode": status,
            "error": error,
            "duplicate": duplicate,
        }
    )
