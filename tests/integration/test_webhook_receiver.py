"""The webhook receiver against a real Temporal test server and real sagas.

Most tests run on a stack without a provider subscription, so the only webhooks the saga gets are
the ones the test signs and posts itself; the sandbox holds each payout in PENDING_CONFIRMATION
(verification on) so the saga stays SUBMITTED, following, while the test talks to it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig
from temporalio.testing import WorkflowEnvironment

from calypso import wire
from calypso.requests import CreateWebhookSubscriptionRequest
from calypso.signing import sign
from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from starter.service.asgi_runner import serve_in_background
from starter.service.binaries import installed_binary
from starter.service.webhook_receiver import create_receiver_app
from tests.contract.conftest import Control, eventually
from tests.integration.conftest import TRON, Stack, start_stack
from tests.ports import closed_port
from workflows.keys import attempt_key
from workflows.payout_models import PayoutResult, PayoutStatus, ResendPolicy, SagaState
from workflows.single_payout import SinglePayoutWorkflow

Saga = WorkflowHandle[SinglePayoutWorkflow, PayoutResult]

OLD_KEY = ("webhook-public-old", "webhook-secret-old")
NEW_KEY = ("webhook-public-new", "webhook-secret-new")


# --- helpers --------------------------------------------------------------------------------------


def event_body(
    key: uuid.UUID | None,
    *,
    provider_id: str | None = None,
    status: str | None = "CONFIRMED",
    kind: str = "PAYOUT_CHANGE_STATUS",
) -> bytes:
    """A webhook body shaped exactly like the provider's (docs/provider-api.md §6)."""
    return wire.dumps(
        {
            "type": kind,
            "parentExternalId": provider_id,
            "payoutStatus": status,
            "hash": None,
            "createdDate": "2026-01-01T00:00:00.000Z",
            "idempotencyKey": str(key) if key else None,
            "currency": "USDT_TRX",
            "externalId": None,
        }
    )


async def post(
    http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await http.post(
        f"{url}/webhooks/calypso",
        content=body,
        headers={"Content-Type": "application/json", **headers},
    )


def signed(body: bytes, public_key: str, secret: str) -> dict[str, str]:
    return {"Key": public_key, "Sign": sign(body, secret)}


async def status_of(saga: Saga) -> PayoutStatus:
    return await saga.query(SinglePayoutWorkflow.status)


async def submitted(saga: Saga, attempts: int = 1) -> PayoutStatus:
    """Wait until attempt number `attempts` is live at the provider and the saga follows it."""

    async def check() -> PayoutStatus | None:
        status = await status_of(saga)
        live = (
            status.state == SagaState.SUBMITTED
            and len(status.attempts) == attempts
            and status.attempts[-1].provider_id is not None
        )
        return status if live else None

    # A few seconds on an idle machine; 30 s was tight on a loaded 2-core one.
    result: PayoutStatus = await eventually(check, deadline=60)
    return result


async def signals(saga: Saga) -> int:
    """How many signals the saga's history holds."""
    history = await saga.fetch_history()
    signaled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    return sum(1 for event in history.events if event.event_type == signaled)


def webhook_entries(status: PayoutStatus) -> list[tuple[str, str | None, str | None]]:
    return [(e.event, e.state, e.note) for e in status.timeline if e.source == "webhook"]


async def confirm(sandbox: Control, provider_id: str) -> None:
    """Confirm a held payout at the provider, once it has reached PENDING_CONFIRMATION."""

    async def pending() -> bool:
        payout = await sandbox.get(f"/sandbox/payouts/{provider_id}")
        return bool(payout["state"] == "PENDING_CONFIRMATION")

    await eventually(pending)
    await sandbox.post(f"/sandbox/payouts/{provider_id}/confirm")


# --- fixtures -------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest_asyncio.fixture
async def quiet_stack(
    time_skipping: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """A stack whose receiver accepts only the test's own keys, and payouts held for
    confirmation: the saga sits in SUBMITTED and sees only the webhooks the test sends."""
    await sandbox.post("/sandbox/config", {"verification": True})
    async with start_stack(
        time_skipping.client, sandbox_server, sandbox, tmp_path, webhooks=False
    ) as running:
        running.webhook_keys[OLD_KEY[0]] = OLD_KEY[1]
        yield running


# --- delivery -------------------------------------------------------------------------------------


async def test_signed_webhook_reaches_the_saga(quiet_stack: Stack, http: httpx.AsyncClient) -> None:
    saga_input = quiet_stack.payout()
    saga = await quiet_stack.start(saga_input)
    status = await submitted(saga)
    provider_id = status.attempts[0].provider_id
    assert provider_id is not None
    assert webhook_entries(status) == []

    body = event_body(saga_input.idempotency_key, provider_id=provider_id, status="CONFIRMED")
    response = await post(http, quiet_stack.receiver_url, body, signed(body, *OLD_KEY))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}

    async def seen() -> PayoutStatus | None:
        current = await status_of(saga)
        return current if webhook_entries(current) else None

    after: PayoutStatus = await eventually(seen)
    assert webhook_entries(after) == [("PAYOUT_CHANGE_STATUS", "CONFIRMED", None)]
    assert after.provider_state == "CONFIRMED"
    assert await signals(saga) == 1

    await confirm(quiet_stack.sandbox, provider_id)
    result = await saga_result(saga, PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason


async def test_webhook_for_a_resend_attempt_reaches_the_saga(
    quiet_stack: Stack, http: httpx.AsyncClient
) -> None:
    # fa11: the network rejects every attempt, so attempt 0 fails and the saga resends once.
    saga_input = quiet_stack.payout(
        deposit_address=TRON[:-4] + "fa11",
        poll_interval_seconds=0.5,
        resend=ResendPolicy(max_resends=1, delay_seconds=0.5),
    )
    key = saga_input.idempotency_key
    saga = await quiet_stack.start(saga_input)
    first = await submitted(saga)
    first_id = first.attempts[0].provider_id
    assert first_id is not None
    await confirm(quiet_stack.sandbox, first_id)

    second = await submitted(saga, attempts=2)
    resend_key = attempt_key(key, 1)
    assert second.attempts[1].provider_key == resend_key != key
    resend_id = second.attempts[1].provider_id
    assert resend_id is not None and resend_id != first_id

    body = event_body(resend_key, provider_id=resend_id, status="CONFIRMED")
    response = await post(http, quiet_stack.receiver_url, body, signed(body, *OLD_KEY))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}

    async def seen() -> PayoutStatus | None:
        current = await status_of(saga)
        return current if webhook_entries(current) else None

    after: PayoutStatus = await eventually(seen)
    # Applied to attempt 1 (not "ignored: another attempt"): routed to payout-<key> by the key.
    assert webhook_entries(after) == [("PAYOUT_CHANGE_STATUS", "CONFIRMED", None)]
    assert after.attempts[1].provider_state == "CONFIRMED"
    assert saga.id == f"payout-{key}"

    await confirm(quiet_stack.sandbox, resend_id)
    result = await saga_result(saga, PayoutResult)
    assert result.state == SagaState.FAILED and result.attempts == 2, result


# --- refusals -------------------------------------------------------------------------------------


async def test_forged_webhooks_are_refused_and_the_saga_is_untouched(
    quiet_stack: Stack, http: httpx.AsyncClient
) -> None:
    saga_input = quiet_stack.payout()
    saga = await quiet_stack.start(saga_input)
    status = await submitted(saga)
    provider_id = status.attempts[0].provider_id
    assert provider_id is not None
    body = event_body(saga_input.idempotency_key, provider_id=provider_id, status="COMPLETED")
    forgeries = {
        "wrong secret": signed(body, OLD_KEY[0], "not-the-secret"),
        "unknown key": signed(body, "someone-else", OLD_KEY[1]),
        "another body's signature": {
            "Key": OLD_KEY[0],
            "Sign": sign(body.replace(b"COMPLETED", b"FAILED"), OLD_KEY[1]),
        },
        "no Sign header": {"Key": OLD_KEY[0]},
        "no headers": {},
    }
    for forgery, headers in forgeries.items():
        response = await post(http, quiet_stack.receiver_url, body, headers)
        assert response.status_code == 401, (forgery, response.text)

    # The receiver answers only after signalling, so nothing can still be on its way.
    assert await signals(saga) == 0
    after = await status_of(saga)
    assert webhook_entries(after) == []
    assert after.state == SagaState.SUBMITTED and after.provider_state != "COMPLETED"

    await saga.terminate("test over")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signed(body, "unknown-public-key", OLD_KEY[1]), id="unknown-key"),
        pytest.param(lambda body: signed(body, OLD_KEY[0], "wrong"), id="wrong-secret"),
        pytest.param(lambda body: {"Sign": sign(body, OLD_KEY[1])}, id="no-key-header"),
        pytest.param(lambda body: {"Key": OLD_KEY[0], "Sign": ""}, id="empty-sign"),
    ],
)
async def test_bad_signature_is_401_even_before_the_body_is_read(
    quiet_stack: Stack, http: httpx.AsyncClient, headers: Any
) -> None:
    for body in (event_body(uuid.uuid4()), b"{not json"):
        response = await post(http, quiet_stack.receiver_url, body, headers(body))
        assert response.status_code == 401, response.text


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'"PAYOUT_CHANGE_STATUS"', id="string"),
        pytest.param(b'{"payoutStatus":"COMPLETED"}', id="no-type"),
        pytest.param(b'{"type":"PAYOUT_CHANGE_STATUS","idempotencyKey":"abc"}', id="key-not-uuid"),
        pytest.param(b'{"type":"PAYOUT_CHANGE_STATUS","idempotencyKey":7}', id="key-a-number"),
        pytest.param(b'{"type":"PAYOUT_CHANGE_STATUS","createdDate":"yesterday"}', id="bad-date"),
    ],
)
async def test_malformed_body_is_400(
    quiet_stack: Stack, http: httpx.AsyncClient, body: bytes
) -> None:
    response = await post(http, quiet_stack.receiver_url, body, signed(body, *OLD_KEY))
    assert response.status_code == 400, response.text
    assert response.json() == {"status": "malformed webhook body"}


# --- payouts that are not ours --------------------------------------------------------------------


async def test_webhook_for_no_saga_is_acknowledged_as_not_ours(
    quiet_stack: Stack, http: httpx.AsyncClient
) -> None:
    for key in (uuid.uuid4(), None):
        body = event_body(key, provider_id="999999", status="COMPLETED")
        response = await post(http, quiet_stack.receiver_url, body, signed(body, *OLD_KEY))
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "not ours"}


async def test_webhook_for_a_finished_saga_is_acknowledged(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    saga_input = stack.payout()
    result = await saga_result(await stack.start(saga_input), PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason
    ((public_key, secret),) = stack.webhook_keys.items()
    body = event_body(saga_input.idempotency_key, provider_id=result.provider_id, status="FAILED")
    response = await post(http, stack.receiver_url, body, signed(body, public_key, secret))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "not ours"}


# --- key rotation ---------------------------------------------------------------------------------


async def test_both_keys_are_accepted_during_rotation(
    quiet_stack: Stack, http: httpx.AsyncClient
) -> None:
    quiet_stack.webhook_keys[NEW_KEY[0]] = NEW_KEY[1]
    saga_input = quiet_stack.payout()
    saga = await quiet_stack.start(saga_input)
    provider_id = (await submitted(saga)).attempts[0].provider_id
    key = saga_input.idempotency_key

    for pair, state in ((OLD_KEY, "CONFIRMED"), (NEW_KEY, "IN_PROGRESS")):
        body = event_body(key, provider_id=provider_id, status=state)
        response = await post(http, quiet_stack.receiver_url, body, signed(body, *pair))
        assert response.status_code == 200, (pair, response.text)
    # A public key vouches only for its own secret.
    body = event_body(key, provider_id=provider_id, status="COMPLETED")
    crossed = await post(http, quiet_stack.receiver_url, body, signed(body, NEW_KEY[0], OLD_KEY[1]))
    assert crossed.status_code == 401

    # A signal that arrives while the saga's workflow task runs is written to history when that
    # task completes: wait for both to be written, then count exactly.
    async def both_written() -> int | None:
        count = await signals(saga)
        return count if count >= 2 else None

    assert await eventually(both_written) == 2

    # Rotation done: the old key is withdrawn and refused from then on.
    del quiet_stack.webhook_keys[OLD_KEY[0]]
    retired = await post(http, quiet_stack.receiver_url, body, signed(body, *OLD_KEY))
    assert retired.status_code == 401
    assert await signals(saga) == 2
    await saga.terminate("test over")


async def test_two_live_subscriptions_are_both_accepted(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """Rotation as the provider does it: a second subscription (new key pair) to the same URL
    runs alongside the first; every event arrives once per subscription and all are accepted."""
    second = await stack.calypso.create_webhook_subscription(
        CreateWebhookSubscriptionRequest(
            request_id=uuid.uuid4(), url=f"{stack.receiver_url}/webhooks/calypso"
        )
    )
    assert second.public_key and second.secret_key
    stack.webhook_keys[second.public_key] = second.secret_key
    assert len(stack.webhook_keys) == 2

    saga = await stack.start(stack.payout())
    result = await saga_result(saga, PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason

    async def both_delivered_completed() -> list[dict[str, Any]] | None:
        log: list[dict[str, Any]] = await stack.sandbox.get(
            f"/sandbox/webhooks?payoutId={result.provider_id}"
        )
        done = {
            entry["subscriptionRequestId"]
            for entry in log
            if entry["event"]["payoutStatus"] == "COMPLETED" and entry["outcome"] == "delivered"
        }
        return log if len(done) == 2 else None

    log: list[dict[str, Any]] = await eventually(both_delivered_completed)
    assert {entry["statusCode"] for entry in log} == {200}, log
    final = await status_of(saga)
    assert ("PAYOUT_CHANGE_STATUS", "CREATED", "ignored: duplicate") in webhook_entries(final)


# --- Temporal down --------------------------------------------------------------------------------


async def test_temporal_unreachable_is_503(http: httpx.AsyncClient) -> None:
    client = await Client.connect(
        f"127.0.0.1:{closed_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    keys = dict([OLD_KEY])
    async with serve_in_background(create_receiver_app(client, keys)) as url:
        body = event_body(uuid.uuid4(), provider_id="100001", status="COMPLETED")
        response = await post(http, url, body, signed(body, *OLD_KEY))
    assert response.status_code == 503, response.text


async def test_temporal_lost_after_connecting_is_503(http: httpx.AsyncClient) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=installed_binary("temporal-test-server"),
    )
    try:
        client = await Client.connect(
            env.client.service_client.config.target_host,
            data_converter=pydantic_data_converter,
            retry_config=RetryConfig(max_retries=2, max_elapsed_time_millis=2000),
        )
    finally:
        await env.shutdown()
    keys = dict([OLD_KEY])
    async with serve_in_background(create_receiver_app(client, keys)) as url:
        body = event_body(uuid.uuid4(), provider_id="100001", status="COMPLETED")
        response = await post(http, url, body, signed(body, *OLD_KEY))
    assert response.status_code == 503, response.text
