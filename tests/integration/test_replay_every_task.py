"""Saga paths run on a worker that keeps no workflow in its cache: every workflow task replays
the whole history first, so a path whose commands depend on anything but the history (a local
activity resolved in another order, a clock read that differs on replay) fails its workflow
task here instead of in production, after a worker restart.

The paths are the recorders' (`tests/record_histories.py`, `tests/record_mass_histories.py`):
single payouts through webhooks, polls, review deadlines, updates and resends (each settling or
releasing locally), and a mass payout whose deals read and book their items locally.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from tests.contract.conftest import Control
from tests.integration.conftest import start_stack
from tests.record_histories import PATHS, SagaPath
from tests.record_mass_histories import PATHS as MASS_PATHS
from tests.record_mass_histories import MassPath
from workflows.mass_models import MassPayoutResult
from workflows.payout_models import PayoutResult

DEADLINE_SECONDS = 60.0
REPLAYED = {
    "completed_duplicate_webhooks",
    "failed_with_one_resend",
    "unconfirmed_review_then_confirmed",
    "held_unknown_state_resolved_paid",
    "controls_approved_completed",
}


@pytest.mark.parametrize(
    "path", [path for path in PATHS if path.name in REPLAYED], ids=lambda path: path.name
)
async def test_path_completes_when_every_task_replays(
    path: SagaPath,
    time_skipping: WorkflowEnvironment,
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    env = dev_server if path.dev_server else time_skipping
    async with (
        start_stack(
            env.client, sandbox_server, sandbox, tmp_path, webhooks=path.webhooks, run_worker=False
        ) as stack,
        stack.worker(max_cached_workflows=0),
        asyncio.timeout(DEADLINE_SECONDS),
    ):
        # A nondeterministic task is retried forever, never failed: the deadline catches it.
        saga = await path.drive(stack)
        result = await saga_result(saga, PayoutResult)
    assert result.state == path.expect, result.reason


# Not `held_item_resolved`: with no cache, its deal's workflow task after the signal to its
# parent stalls (started, never completed) with or without local activities, while the test
# queries the parent: a limit of the cache-less worker, which no deployment runs.
MASS_REPLAYED = {"partial_with_resend"}


@pytest.mark.parametrize(
    "path", [path for path in MASS_PATHS if path.name in MASS_REPLAYED], ids=lambda p: p.name
)
async def test_mass_path_completes_when_every_task_replays(
    path: MassPath,
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    # The dev server for both: parent and deals polling at once race the test server's skipping.
    client = dev_server.client
    async with (
        start_stack(client, sandbox_server, sandbox, tmp_path, run_worker=False) as stack,
        stack.worker(max_cached_workflows=0),
        asyncio.timeout(DEADLINE_SECONDS),
    ):
        saga = await path.drive(stack)
        result = await saga_result(saga, MassPayoutResult)
    assert result.state == path.expect, result.reason
