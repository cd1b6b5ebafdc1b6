"""No secret enters workflow history, memo, search attributes or summaries (docs/architecture.md).

Payloads in a history are base64-encoded JSON, so a plain substring search of `to_json()` would
pass whatever the saga carried: every base64 string is decoded and searched too, and each test
first checks that text only the payloads carry (a comment, an external id) is found.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from google.protobuf.json_format import MessageToJson
from temporalio.client import WorkflowHandle

from activities.payout_activities import PayoutActivities
from calypso.client import CalypsoClient
from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from starter.api.payouts import PayoutRequest, Payouts
from starter.service.asgi_runner import read_body, serve_in_background
from starter.service.settings import SANDBOX_API_SECRET, Settings
from starter.service.worker import build_worker
from tests.contract.conftest import credentials
from tests.integration.conftest import TRON, Stack
from workflows.payout_models import PayoutResult, SagaState
from workflows.single_payout import SinglePayoutWorkflow

CALLBACK_SECRET = "merchant-callback-secret-0451"
WRONG_SECRET = "a-wrong-api-secret-9d3f"


def _decoded_strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _decoded_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _decoded_strings(value)
    elif isinstance(node, str) and node:
        with contextlib.suppress(binascii.Error, ValueError):
            yield base64.b64decode(node, validate=True).decode("utf-8", "replace")


def readable(proto_json: str) -> str:
    """The JSON text plus every base64 string in it, decoded."""
    return "\n".join([proto_json, *_decoded_strings(json.loads(proto_json))])


async def everything_temporal_keeps(handle: WorkflowHandle[Any, Any]) -> str:
    """History, memo, search attributes, summary and details of one workflow, as text."""
    history = await handle.fetch_history()
    description = await handle.describe()
    memo = await description.memo()
    return "\n".join(
        [
            readable(history.to_json()),
            readable(MessageToJson(description.raw_description)),
            repr(memo),
            repr(description.typed_search_attributes),
            repr(description.static_summary),
            repr(description.static_details),
        ]
    )


def assert_secret_free(text: str, known: str, secrets: set[str]) -> None:
    assert known in text, "the payloads were not decoded: the search below would prove nothing"
    for secret in secrets:
        assert secret, "an empty secret would match anything"
        assert secret not in text, f"secret {secret[:4]}… found in what Temporal keeps"


async def test_completed_saga_keeps_no_secret(stack: Stack) -> None:
    saga_input = stack.payout(comment="rent for March")
    handle = await stack.start(saga_input)
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason
    assert credentials().api_secret == SANDBOX_API_SECRET == "sandbox-secret-key"
    webhook_secrets = set(stack.webhook_keys.values())
    assert webhook_secrets, "the stack subscribed no webhook key"

    text = await everything_temporal_keeps(handle)
    assert "rent for March" in text
    assert_secret_free(
        text, str(saga_input.idempotency_key), {SANDBOX_API_SECRET, *webhook_secrets}
    )


async def test_saga_started_through_the_api_with_callbacks_keeps_no_secret(
    dev_stack: Stack, sandbox_server: SandboxHandle
) -> None:
    """Memo (the request fingerprint), static summary and merchant callbacks included."""
    received: list[bytes] = []

    async def merchant(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        received.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    task_queue = f"payouts-{uuid.uuid4()}"
    async with serve_in_background(merchant) as merchant_url:
        settings = Settings(
            task_queue=task_queue,
            callback_url=f"{merchant_url}/callbacks",
            callback_secret=CALLBACK_SECRET,
        )
        activities = PayoutActivities(
            dev_stack.calypso,
            dev_stack.ledger,
            callback_url=settings.callback_url,
            callback_secret=settings.callback_secret,
        )
        try:
            async with build_worker(dev_stack.client, activities, task_queue):
                payouts = Payouts(dev_stack.client, settings)
                key = await payouts.start(
                    PayoutRequest(
                        deposit_address=TRON,
                        amount=Decimal("12.5"),
                        currency="USDT_TRX",
                        external_id="invoice-secret-test",
                    )
                )
                result = await payouts.result(key)
                handle = dev_stack.client.get_workflow_handle(f"payout-{key}")
                text = await everything_temporal_keeps(handle)
        finally:
            await activities.close()
    assert result.state == SagaState.COMPLETED, result.reason
    assert received, "no merchant callback was sent: the callback secret was never used"
    assert "requestFingerprint" in text and "invoice-secret-test" in text
    secrets = {SANDBOX_API_SECRET, CALLBACK_SECRET, *dev_stack.webhook_keys.values()}
    assert_secret_free(text, str(key), secrets)


async def test_authentication_failure_keeps_no_secret(
    stack: Stack, sandbox_server: SandboxHandle
) -> None:
    """A saga that fails because the API secret is wrong: the failure is in history, the secret
    it was signed with is not."""
    task_queue = f"payouts-{uuid.uuid4()}"
    async with CalypsoClient(sandbox_server.url, credentials(secret=WRONG_SECRET)) as calypso:
        activities = PayoutActivities(calypso, stack.ledger)
        try:
            async with build_worker(stack.client, activities, task_queue):
                saga_input = stack.payout(comment="auth failure path")
                handle = await stack.client.start_workflow(
                    SinglePayoutWorkflow.run,
                    saga_input,
                    id=f"payout-{saga_input.idempotency_key}",
                    task_queue=task_queue,
                )
                result = await saga_result(handle, PayoutResult)
                text = await everything_temporal_keeps(handle)
        finally:
            await activities.close()
    assert result.state == SagaState.FAILED, result
    assert "auth failure path" in text
    assert "003" in text or "Sign" in text, "the authentication failure is not in history"
    assert_secret_free(text, str(saga_input.idempotency_key), {WRONG_SECRET, SANDBOX_API_SECRET})
