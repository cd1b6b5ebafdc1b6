"""100,000 recipients against the sandbox, within Temporal's limits.

No payload in any history over 256 KB (large ones are offloaded to external storage), no workflow
run over 10,240 history events (the list is split across deal child workflows), every item paid
exactly once, and the worker's memory stays bounded.
"""

from __future__ import annotations

import os
import resource
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from starter.service.payload_storage import data_converter
from tests.contract.conftest import Control
from tests.integration.conftest import Stack, start_stack
from workflows.keys import mass_payout_workflow_id
from workflows.mass_models import ItemState, MassPayoutInput, MassPayoutResult, Recipients
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import SagaState

RECIPIENTS = int(os.environ.get("SCALE_RECIPIENTS", "100000"))
PAYLOAD_LIMIT = 256 * 1024
EVENTS_LIMIT = 10_240
HISTORY_SIZE_LIMIT = 10 * 1024 * 1024  # the server warns from 10 MB (the hard limit is 50 MB)
MEMORY_GROWTH_LIMIT_MB = 1500
EVM = "0x" + "ab" * 20


@pytest_asyncio.fixture
async def offloading_stack(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """The dev-server stack, with a client whose converter offloads large payloads."""
    client = await Client.connect(
        dev_server.client.service_client.config.target_host,
        data_converter=data_converter(tmp_path / "payloads"),
    )
    await sandbox.post("/sandbox/config", {"stepDelaySeconds": 0.01})
    async with start_stack(client, sandbox_server, sandbox, tmp_path) as stack:
        yield stack


@pytest.mark.slow
async def test_one_hundred_thousand_recipients(offloading_stack: Stack) -> None:
    stack = offloading_stack
    await stack.ledger.fund("default", "USDT", Decimal(RECIPIENTS))
    key = uuid.uuid4()
    amounts = [Decimal("0.5") + Decimal(n % 100) / 1000 for n in range(RECIPIENTS)]
    request = MassPayoutInput(
        idempotency_key=key,
        currency="USDT",
        recipients=Recipients(
            addresses=[EVM] * RECIPIENTS,
            amounts=amounts,
            comments=[None] * RECIPIENTS,
            references=[f"player-{n}" for n in range(RECIPIENTS)],
        ),
        name="season rewards",
        poll_interval_seconds=2,
    )
    memory_before = _max_rss_mb()
    handle = await stack.client.start_workflow(
        MassPayoutWorkflow.run,
        request,
        id=mass_payout_workflow_id(key),
        task_queue=stack.task_queue,
    )
    result = await saga_result(handle, MassPayoutResult)
    memory_growth = _max_rss_mb() - memory_before

    assert result.state == SagaState.COMPLETED, result.reason
    assert result.counts[ItemState.COMPLETED] == RECIPIENTS
    assert result.paid == sum(amounts, Decimal(0))
    assert len(result.deals) == RECIPIENTS // 1000  # USDT (ERC-20): 1000 items per deal
    # Summaries, not the 100,000 withdrawals (each deal's are paged by GET
    # /sandbox/payouts/{id}/withdrawals): the full dump took longer than a client's 5 s here.
    provider_deals = await stack.provider_payouts(kind="mass")
    assert len(provider_deals) == len(result.deals)  # each deal created exactly once

    workflow_ids = [handle.id, *(deal.workflow_id for deal in result.deals)]
    for workflow_id in workflow_ids:
        history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
        assert len(history.events) < EVENTS_LIMIT, workflow_id
        sizes = [event.ByteSize() for event in history.events]
        assert max(sizes) < PAYLOAD_LIMIT, f"{workflow_id}: an event of {max(sizes)} bytes"
        assert sum(sizes) < HISTORY_SIZE_LIMIT, f"{workflow_id}: history of {sum(sizes)} bytes"
    assert memory_growth < MEMORY_GROWTH_LIMIT_MB, f"grew {memory_growth:.0f} MB"


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
