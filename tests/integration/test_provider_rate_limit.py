"""The provider's rate limit, end to end: a real Temporal dev server, the sandbox enforcing a
limit, and a worker that respects it (PAYOUTS_PROVIDER_RATE: the task queue's activity rate and
the worker's own call pacing). A 429 is retried after its Retry-After."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.payout_activities import PayoutActivities
from calypso.client import CalypsoClient
from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from starter.service.payload_storage import data_converter
from starter.service.worker import build_worker
from tests.contract.conftest import Control, credentials
from tests.integration.conftest import Stack, start_stack
from workflows.keys import mass_payout_workflow_id
from workflows.mass_models import ItemState, MassPayoutInput, MassPayoutResult, Recipients
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import PayoutResult, SagaState

SANDBOX_LIMIT = 20  # calls per second, the provider's
WORKER_RATE = 15.0  # PAYOUTS_PROVIDER_RATE: below the limit, headroom for network jitter
RECIPIENTS = 10_000  # USDT (ERC-20): 1000 items per deal, so 10 deals
EVM = "0x" + "cd" * 20


@pytest_asyncio.fixture
async def offloading_stack(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """The dev-server stack without its worker (the test runs a rate-limited one); a 10,000-item
    list is larger than a payload may be, so the client offloads it."""
    client = await Client.connect(
        dev_server.client.service_client.config.target_host,
        data_converter=data_converter(tmp_path / "payloads"),
    )
    await sandbox.post("/sandbox/config", {"stepDelaySeconds": 0.01})
    async with start_stack(client, sandbox_server, sandbox, tmp_path, run_worker=False) as stack:
        yield stack


async def test_ten_thousand_recipients_never_exceed_the_providers_limit(
    offloading_stack: Stack, sandbox_server: SandboxHandle
) -> None:
    stack = offloading_stack
    await stack.ledger.fund("default", "USDT", Decimal(RECIPIENTS))
    amounts = [Decimal("0.5") + Decimal(n % 100) / 1000 for n in range(RECIPIENTS)]
    key = uuid.uuid4()
    request = MassPayoutInput(
        idempotency_key=key,
        currency="USDT",
        recipients=Recipients(
            addresses=[EVM] * RECIPIENTS,
            amounts=amounts,
            comments=[None] * RECIPIENTS,
            references=[f"r-{n}" for n in range(RECIPIENTS)],
        ),
        name="rate limited",
        poll_interval_seconds=2,
    )
    # Set after the stack subscribed its receiver: a new limit starts a new measurement.
    await stack.sandbox.post("/sandbox/config", {"rateLimitPerSecond": SANDBOX_LIMIT})
    # The worker as `run_worker` builds it from PAYOUTS_PROVIDER_RATE=15.
    async with CalypsoClient(
        sandbox_server.url, credentials(), timeout=15.0, calls_per_second=WORKER_RATE
    ) as paced:
        activities = PayoutActivities(paced, stack.ledger)
        async with build_worker(
            stack.client, activities, stack.task_queue, provider_rate=WORKER_RATE
        ):
            started = time.monotonic()
            handle = await stack.client.start_workflow(
                MassPayoutWorkflow.run,
                request,
                id=mass_payout_workflow_id(key),
                task_queue=stack.task_queue,
            )
            result = await saga_result(handle, MassPayoutResult)
            elapsed = time.monotonic() - started
        await activities.close()

    seen: dict[str, Any] = await stack.sandbox.get("/sandbox/rate")
    print(f"\n10,000 recipients in {elapsed:.1f} s; provider saw {seen}")
    assert result.state == SagaState.COMPLETED, result.reason
    assert result.counts[ItemState.COMPLETED] == RECIPIENTS
    assert result.paid == sum(amounts, Decimal(0))
    assert seen["limitPerSecond"] == SANDBOX_LIMIT
    assert seen["maxPerSecond"] <= SANDBOX_LIMIT, seen
    assert seen["rejected"] == 0, seen
    deals = await stack.provider_payouts(kind="mass")
    assert len(deals) == len(result.deals) == RECIPIENTS // 1000  # each deal created once
    assert all(deal["withdrawalStates"] == {"COMPLETED": 1000} for deal in deals)  # paid once


async def test_a_429_is_retried_after_its_retry_after_and_pays_once(dev_stack: Stack) -> None:
    stack = dev_stack
    await stack.sandbox.post("/sandbox/config", {"rateLimitPerSecond": 2})
    saga_input = stack.payout()
    for _ in range(2):  # fill this second's window: the saga's first call is over the limit
        await stack.calypso.get_account()
    handle = await stack.start(saga_input)
    result: PayoutResult = await saga_result(handle, PayoutResult)

    assert result.state == SagaState.COMPLETED, result.reason
    seen: dict[str, Any] = await stack.sandbox.get("/sandbox/rate")
    assert seen["rejected"] >= 1, seen
    assert len(await stack.provider_payouts(idempotencyKey=str(saga_input.idempotency_key))) == 1
    # The retry waited what the 429 asked: Temporal records the delay with the failure.
    asked = [
        event.activity_task_started_event_attributes.last_failure
        for event in (await handle.fetch_history()).events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and event.activity_task_started_event_attributes.attempt > 1
    ]
    limited = [f for f in asked if "rate limit exceeded" in f.message]
    assert limited, [f.message for f in asked]
    assert all(f.application_failure_info.type == "ServerError" for f in limited)
    assert all(f.application_failure_info.next_retry_delay.seconds == 1 for f in limited)
