"""A payload the worker cannot find: the saga waits, visibly, and goes on once it can read it.

Every worker and client must share PAYOUTS_PAYLOAD_DIR. When one does not (or a file is moved
away), the worker's workflow task fails with a message that names the store, the file and the
fix; the SDK retries the task, so once the file is back the saga continues by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle
from starter.service.payload_storage import data_converter
from tests.contract.conftest import Control, eventually
from tests.integration.conftest import Stack, start_stack
from tests.integration.mass_support import mass_input, start_mass, task_failures, tron
from workflows.mass_models import ItemState
from workflows.payout_models import SagaState

RECIPIENTS = 700  # a list of about 43 KB: above the 32 KB offload threshold
DEADLINE_SECONDS = 120.0  # the saga ends in ~10 s idle; a loaded 2-core machine is slower


@pytest_asyncio.fixture
async def offloading_stack(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """The dev-server stack on a client (and so a worker) that offloads to tmp_path/payloads;
    the test runs the worker itself."""
    client = await Client.connect(
        dev_server.client.service_client.config.target_host,
        data_converter=data_converter(tmp_path / "payloads"),
    )
    async with start_stack(client, sandbox_server, sandbox, tmp_path, run_worker=False) as stack:
        yield stack


async def test_a_missing_payload_fails_the_task_naming_it_and_the_saga_goes_on_once_back(
    offloading_stack: Stack, tmp_path: Path
) -> None:
    stack = offloading_stack
    handle = await start_mass(stack, mass_input([tron(n) for n in range(RECIPIENTS)]))
    (stored,) = (tmp_path / "payloads").glob("*.payload")  # the list, offloaded by the client
    aside = tmp_path / "aside"
    aside.mkdir()
    moved = stored.rename(aside / stored.name)

    async with stack.worker():
        message = (await eventually(lambda: task_failures(handle), deadline=DEADLINE_SECONDS))[0]
        assert str(stored) in message, message
        assert str(tmp_path / "payloads") in message, message
        assert "Every worker and client must share PAYOUTS_PAYLOAD_DIR" in message, message
        assert "continues by itself" in message, message

        moved.rename(stored)
        result = await asyncio.wait_for(handle.result(), DEADLINE_SECONDS)

    assert result.state == SagaState.COMPLETED, result
    assert result.counts.get(ItemState.COMPLETED) == RECIPIENTS, result.counts
