"""Fault injection: API faults (failNext, errorRate, latency, commitThenDrop) and webhook
faults (drop, duplicate, reorder, delay), plus the webhook retry schedule."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import SandboxClient, WebhookReceiver, exact_json, wait_for

CREATE = "/api/v1/payout/create"
EVENTS_PER_PAYOUT = 6  # CREATED, CONFIRMED x2, IN_PROGRESS, HASH_RECEIVED, COMPLETED


def new_payout(**extra: Any) -> dict[str, Any]:
    return {
        "depositAddress": "0x" + "7" * 40,
        "amount": Decimal("0.01"),
        "currency": "ETH",
        "idempotencyKey": str(uuid.uuid4()),
        **extra,
    }


def completed_payout(api: SandboxClient) -> Any:
    created = api.ok(CREATE, new_payout())
    return api.wait_state(created["id"], {"COMPLETED"})


def test_fail_next_answers_500_000_then_recovers(api: SandboxClient) -> None:
    api.control("POST", "/faults", {"failNext": 2, "paths": ["/api/v1/account"]})
    assert api.call("/api/v1/payout/all").status_code == 200  # not a listed path
    for _ in range(2):
        response = api.call("/api/v1/account")
        assert response.status_code == 500
        assert exact_json(response.content)["errorCode"] == "000"
    assert api.call("/api/v1/account").status_code == 200
    assert api.control("GET", "/faults")["failNext"] == 0
    log = api.control("GET", "/requests?path=/api/v1/account")
    assert [e["fault"] for e in log] == ["failNext", "failNext", None]


def test_error_rate_is_reproducible_with_a_seed(api: SandboxClient) -> None:
    def pattern() -> list[int]:
        api.control("POST", "/faults", {"errorRate": Decimal("0.5"), "seed": 7})
        statuses = [api.call("/api/v1/account").status_code for _ in range(20)]
        api.control("DELETE", "/faults")
        return statuses

    first = pattern()
    assert set(first) == {200, 500}
    assert pattern() == first


def test_latency_is_added_to_api_calls(api: SandboxClient) -> None:
    # A whole second, so that "the control API answers sooner" does not depend on a loaded
    # machine answering a loopback call within 150 ms (the latency this test used before).
    api.control("POST", "/faults", {"latencyMs": 1000})
    started = time.monotonic()
    assert api.call("/api/v1/account").status_code == 200
    assert time.monotonic() - started >= 1.0
    started = time.monotonic()
    api.control("GET", "/health")  # the control API is never slowed down
    assert time.monotonic() - started < 1.0


def test_commit_then_drop_creates_the_payout_but_never_answers(api: SandboxClient) -> None:
    api.control("POST", "/faults", {"commitThenDrop": 1, "paths": [CREATE]})
    payload = new_payout()
    with pytest.raises(httpx.ReadTimeout):
        api.call(CREATE, payload, timeout=0.5)
    found = api.ok("/api/v1/payout", {"idempotencyKey": payload["idempotencyKey"]})
    assert found["amount"] == Decimal("0.01")
    assert api.error(CREATE, payload)[1] == "016"  # a blind retry is rejected, not replayed
    assert api.call(CREATE, new_payout()).status_code == 200  # the counter is used up
    log = api.control("GET", f"/requests?path={CREATE}")
    assert [(e["status"], e["fault"]) for e in log] == [
        (200, "commitThenDrop"),
        (400, None),
        (200, None),
    ]


def test_failed_validation_does_not_use_up_commit_then_drop(api: SandboxClient) -> None:
    api.control("POST", "/faults", {"commitThenDrop": 1})
    assert api.error(CREATE, new_payout(amount=Decimal(0)))[1] == "001"
    assert api.control("GET", "/faults")["commitThenDrop"] == 1


@pytest.fixture
def subscribed(api: SandboxClient, receiver: WebhookReceiver) -> WebhookReceiver:
    api.subscribe(receiver.url, str(uuid.uuid4()))
    return receiver


def test_webhook_drop(api: SandboxClient, subscribed: WebhookReceiver) -> None:
    api.control("POST", "/faults", {"webhookDrop": 1})
    payout = completed_payout(api)
    wait_for(lambda: len(subscribed.deliveries) == EVENTS_PER_PAYOUT - 1, what="5 webhooks")
    assert subscribed.deliveries[0].event["payoutStatus"] == "CONFIRMED"
    log = api.control("GET", f"/webhooks?payoutId={payout['id']}")
    assert [e["event"]["payoutStatus"] for e in log if e["outcome"] == "dropped"] == ["CREATED"]


def test_webhook_duplicate(api: SandboxClient, subscribed: WebhookReceiver) -> None:
    api.control("POST", "/faults", {"webhookDuplicate": True})
    completed_payout(api)
    wait_for(lambda: len(subscribed.deliveries) == 2 * EVENTS_PER_PAYOUT, what="all twice")
    bodies = [d.body for d in subscribed.received()]
    assert all(bodies.count(body) == 2 for body in bodies)


def test_webhook_reorder_delivers_each_payout_batch_backwards(
    api: SandboxClient, subscribed: WebhookReceiver
) -> None:
    api.control("POST", "/faults", {"webhookReorder": True})
    completed_payout(api)
    wait_for(lambda: len(subscribed.deliveries) == EVENTS_PER_PAYOUT, what="the reversed batch")
    assert [d.event["payoutStatus"] for d in subscribed.received()] == [
        "COMPLETED", "IN_PROGRESS", "IN_PROGRESS", "CONFIRMED", "CONFIRMED", "CREATED",
    ]  # fmt: skip


def test_webhook_reorder_off_releases_held_events(
    api: SandboxClient, subscribed: WebhookReceiver
) -> None:
    api.control("POST", "/config", {"verification": True})
    api.control("POST", "/faults", {"webhookReorder": True})
    created = api.ok(CREATE, new_payout())
    api.wait_state(created["id"], {"PENDING_CONFIRMATION"})
    assert subscribed.deliveries == []
    api.control("POST", "/faults", {"webhookReorder": False})
    wait_for(lambda: len(subscribed.deliveries) == 2, what="the held events")
    assert [d.event["payoutStatus"] for d in subscribed.received()] == [
        "PENDING_CONFIRMATION",
        "CREATED",
    ]


def test_webhook_delay(api: SandboxClient, subscribed: WebhookReceiver) -> None:
    api.control("POST", "/faults", {"webhookDelayMs": 300})
    created_at = time.monotonic()
    api.ok(CREATE, new_payout())
    wait_for(subscribed.received, what="the first webhook")
    assert time.monotonic() - created_at >= 0.3


def test_webhook_is_retried_after_a_non_200(
    api: SandboxClient, subscribed: WebhookReceiver
) -> None:
    subscribed.statuses = [500]  # the first delivery (CREATED) is refused once
    payout = completed_payout(api)

    def attempts_for_created() -> list[tuple[int, str, int]]:
        log = api.control("GET", f"/webhooks?payoutId={payout['id']}")
        created = [e for e in log if e["event"]["payoutStatus"] == "CREATED"]
        return [(e["attempt"], e["outcome"], e["statusCode"]) for e in created]

    wait_for(lambda: len(attempts_for_created()) == 2, what="the retried CREATED webhook")
    assert attempts_for_created() == [(1, "failed", 500), (2, "delivered", 200)]
    first, retry = subscribed.received(lambda e: e["payoutStatus"] == "CREATED")
    assert first.body == retry.body and first.headers["Sign"] == retry.headers["Sign"]


def test_webhook_gives_up_after_nineteen_retries(api: SandboxClient) -> None:
    api.control("POST", "/config", {"webhookTimeScale": Decimal("0.000001")})
    api.subscribe(
        "http://127.0.0.1:1/unreachable",
        str(uuid.uuid4()),
        events=["PAYOUT_CONFIRMED"],
        services=[],
    )
    payout = completed_payout(api)

    def attempts() -> list[Any]:
        return list(api.control("GET", f"/webhooks?payoutId={payout['id']}"))

    wait_for(lambda: len(attempts()) == 20, timeout=60, what="20 attempts")  # 10 s was tight
    log = attempts()
    assert [e["attempt"] for e in log] == list(range(1, 21))
    assert all(e["outcome"] == "failed" and e["error"] for e in log)
