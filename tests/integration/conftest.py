"""Integration fixtures: a real Temporal server, the real sandbox over loopback, a real worker.

One time-skipping server per session (time jumps when every workflow waits on a timer), one
local dev server per session for updates (the time-skipping server does not skip time while an
update is in flight), one sandbox per session reset before each test, a fresh task queue per test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.client import CalypsoClient
from activities.ledger import SqliteLedger
from activities.models import CreateWebhookSubscriptionRequest
from activities.payout_activities import PayoutActivities
from sandbox.server import SandboxHandle, running_sandbox
from sandbox.settings import SandboxSettings
from starter.asgi_runner import serve_in_background
from starter.binaries import installed_binary
from starter.search_attribute_setup import register_search_attributes
from starter.webhook_receiver import create_receiver_app
from starter.worker import build_worker
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

from ..contract.conftest import Control, credentials

SANDBOX = SandboxSettings(step_delay_seconds=0.05, webhook_time_scale=0.001)


@pytest_asyncio.fixture(scope="session")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=installed_binary("temporal-test-server"),
    )
    # The test server knows no custom search attributes until they are registered, exactly as
    # `payouts setup` does; a workflow upserting an unknown one would hang.
    await register_search_attributes(env.client, env.client.namespace)
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxHandle]:
    with running_sandbox(SANDBOX) as handle:
        yield handle


@pytest_asyncio.fixture
async def sandbox(sandbox_server: SandboxHandle) -> AsyncIterator[Control]:
    async with httpx.AsyncClient(base_url=sandbox_server.url) as http:
        control = Control(http)
        await control.post("/sandbox/reset")
        yield control


@dataclass
class Stack:
    """Everything one test's sagas run on."""

    client: Client
    task_queue: str
    calypso: CalypsoClient
    ledger: SqliteLedger
    sandbox: Control
    worker: Worker
    receiver_url: str


async def start_stack(
    client: Client, sandbox_server: SandboxHandle, control: Control, tmp_path: Path
) -> AsyncIterator[Stack]:
    task_queue = f"payouts-{uuid.uuid4()}"
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    async with CalypsoClient(sandbox_server.url, credentials()) as calypso:
        activities = PayoutActivities(calypso, ledger)
        subscription_keys: dict[str, str] = {}
        receiver = create_receiver_app(client, subscription_keys)
        async with serve_in_background(receiver) as receiver_url:
            subscription = await calypso.create_webhook_subscription(
                CreateWebhookSubscriptionRequest(
                    request_id=uuid.uuid4(), url=f"{receiver_url}/webhooks/calypso"
                )
            )
            assert subscription.public_key and subscription.secret_key
            subscription_keys[subscription.public_key] = subscription.secret_key
            worker = build_worker(client, activities, task_queue)
            async with worker:
                yield Stack(client, task_queue, calypso, ledger, control, worker, receiver_url)
        await activities.close()
        await ledger.close()


@pytest_asyncio.fixture
async def stack(
    time_skipping: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    async for running in start_stack(time_skipping.client, sandbox_server, sandbox, tmp_path):
        yield running


@pytest_asyncio.fixture
async def dev_stack(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    async for running in start_stack(dev_server.client, sandbox_server, sandbox, tmp_path):
        yield running
