"""Integration fixtures: a real Temporal server, the real sandbox over loopback, a real worker.

One time-skipping server per session (time jumps when every workflow waits on a timer), one
local dev server per session for updates (the time-skipping server does not skip time while an
update is in flight), one sandbox per session reset before each test, a fresh task queue per test.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.ledger import EntryState, SqliteLedger
from activities.payout_activities import PayoutActivities
from calypso.client import CalypsoClient
from calypso.requests import CreateWebhookSubscriptionRequest
from sandbox.server import SandboxHandle, running_sandbox
from sandbox.settings import SandboxSettings
from starter.service.asgi_runner import serve_in_background
from starter.service.binaries import installed_binary
from starter.service.search_attribute_setup import register_search_attributes
from starter.service.webhook_receiver import create_receiver_app
from starter.service.worker import build_worker
from tests.contract.conftest import CONTROL_TIMEOUT, Control, credentials, eventually
from workflows.keys import single_payout_workflow_id
from workflows.payout_models import PayoutInput, PayoutResult, PayoutStatus
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES
from workflows.single_payout import SinglePayoutWorkflow

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
    async with httpx.AsyncClient(base_url=sandbox_server.url, timeout=CONTROL_TIMEOUT) as http:
        control = Control(http)
        await control.post("/sandbox/reset")
        yield control


TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"


@dataclass
class Stack:
    """Everything one test's sagas run on: a worker on a fresh task queue, a subscribed receiver."""

    client: Client
    task_queue: str
    calypso: CalypsoClient
    ledger: SqliteLedger
    sandbox: Control
    activities: PayoutActivities
    receiver_url: str
    webhook_keys: dict[str, str]
    started: list[str] = field(default_factory=list)

    def payout(self, **overrides: Any) -> PayoutInput:
        """A valid saga input (25.5 USDT_TRX to a Tron address), fields overridable."""
        fields: dict[str, Any] = {
            "idempotency_key": uuid.uuid4(),
            "deposit_address": TRON,
            "amount": Decimal("25.5"),
            "currency": "USDT_TRX",
            "poll_interval_seconds": 5.0,
        }
        fields.update(overrides)
        return PayoutInput.model_validate(fields)

    async def start(
        self, saga_input: PayoutInput
    ) -> WorkflowHandle[SinglePayoutWorkflow, PayoutResult]:
        handle = await self.client.start_workflow(
            SinglePayoutWorkflow.run,
            saga_input,
            id=single_payout_workflow_id(saga_input.idempotency_key),
            task_queue=self.task_queue,
        )
        self.started.append(handle.id)
        return handle

    async def terminate_leftovers(self) -> None:
        """A saga a failed test left running would stop the shared test server skipping time
        for every later test; end it with the test."""
        for workflow_id in self.started:
            handle = self.client.get_workflow_handle(workflow_id)
            with contextlib.suppress(RPCError):
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("left running by its test")

    def worker(self, *, max_cached_workflows: int = 1000) -> Worker:
        """A (new) worker for this stack's task queue; `async with stack.worker():` runs it."""
        return build_worker(
            self.client,
            self.activities,
            self.task_queue,
            max_cached_workflows=max_cached_workflows,
        )

    async def provider_payouts(self, **filters: str) -> list[dict[str, Any]]:
        """The sandbox's payouts and mass payouts in creation order, each with a summary of its
        withdrawals (`withdrawalCount`, `withdrawalStates`) but not the withdrawals themselves
        (a 100,000-recipient run has 100,000). `filters`: `kind`, `idempotencyKey`, `state`."""
        payouts: list[dict[str, Any]] = await self.sandbox.get("/sandbox/payouts", filters)
        return payouts


@contextlib.asynccontextmanager
async def start_stack(
    client: Client,
    sandbox_server: SandboxHandle,
    control: Control,
    tmp_path: Path,
    *,
    webhooks: bool = True,
    run_worker: bool = True,
    # The saga's own provider client: the production default (calypso.client.DEFAULT_TIMEOUT),
    # under the activities' 30 s start-to-close. 5 s could time out a 1000-item mass create on a
    # loaded machine, and the retry would show up as an extra provider call in the tests.
    client_timeout: float = 15.0,
    ledger_funds: Decimal = Decimal(1_000_000),
    # Every webhook reaches the saga: the saga tests are about what it does with all of them
    # (duplicates, stale and reordered ones). The receiver's default, `news`, has its own tests.
    forward: str = "all",
) -> AsyncIterator[Stack]:
    """A stack for one test. `webhooks=False` leaves the receiver unsubscribed (polling only);
    `run_worker=False` lets the test run (and restart) workers itself."""
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    await ledger.fund("default", "USDT_TRX", ledger_funds)
    async with CalypsoClient(sandbox_server.url, credentials(), timeout=client_timeout) as calypso:
        activities = PayoutActivities(calypso, ledger)
        keys: dict[str, str] = {}
        receiver = create_receiver_app(client, keys, forward=forward)
        async with serve_in_background(receiver) as receiver_url:
            if webhooks:
                subscription = await calypso.create_webhook_subscription(
                    CreateWebhookSubscriptionRequest(
                        request_id=uuid.uuid4(), url=f"{receiver_url}/webhooks/calypso"
                    )
                )
                assert subscription.public_key and subscription.secret_key
                keys[subscription.public_key] = subscription.secret_key
            stack = Stack(
                client,
                f"payouts-{uuid.uuid4()}",
                calypso,
                ledger,
                control,
                activities,
                receiver_url,
                keys,
            )
            try:
                if run_worker:
                    async with stack.worker():
                        yield stack
                else:
                    yield stack
            finally:
                await stack.terminate_leftovers()
        await activities.close()
        await ledger.close()


@pytest_asyncio.fixture
async def stack(
    time_skipping: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """The default stack on the time-skipping server."""
    async with start_stack(time_skipping.client, sandbox_server, sandbox, tmp_path) as running:
        yield running


@pytest_asyncio.fixture
async def dev_stack(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """The default stack on the local dev server (for updates: cancel, reschedule)."""
    async with start_stack(dev_server.client, sandbox_server, sandbox, tmp_path) as running:
        yield running


# --- helpers for the saga tests ------------------------------------------------------------------

CREATE_PATH = "/api/v1/payout/create"


async def saga_status(handle: WorkflowHandle[Any, Any]) -> PayoutStatus:
    status: PayoutStatus = await handle.query(SinglePayoutWorkflow.status)
    return status


async def wait_for_status(
    handle: WorkflowHandle[Any, Any],
    check: Callable[[PayoutStatus], bool],
    *,
    deadline: float = 60.0,  # a saga step takes ~1 s idle; 15 s was tight on a loaded 2-core box
) -> PayoutStatus:
    """Query `status` until `check` holds; returns the status that satisfied it."""

    async def probe() -> PayoutStatus | None:
        status = await saga_status(handle)
        return status if check(status) else None

    found: PayoutStatus = await eventually(probe, deadline=deadline)
    return found


async def api_requests(control: Control, path: str = CREATE_PATH) -> list[dict[str, Any]]:
    """The sandbox's log of provider API calls on `path` (default: payout creation)."""
    logged: list[dict[str, Any]] = await control.get(f"/sandbox/requests?path={path}")
    return logged


async def ledger_state(stack: Stack, saga_input: PayoutInput) -> EntryState | None:
    entry = await stack.ledger.entry(str(saga_input.idempotency_key))
    return entry.state if entry is not None else None


def timeline_notes(status: PayoutStatus, source: str) -> list[tuple[str | None, str | None]]:
    """(state, note) of every timeline entry from `source` (saga, webhook, poll, api, …)."""
    return [(entry.state, entry.note) for entry in status.timeline if entry.source == source]


async def provider_state_is(control: Control, payout_id: str, state: str) -> bool:
    """Whether the sandbox's payout `payout_id` is in `state` now (for `eventually`)."""
    payout: dict[str, Any] = await control.get(f"/sandbox/payouts/{payout_id}")
    return bool(payout["state"] == state)
