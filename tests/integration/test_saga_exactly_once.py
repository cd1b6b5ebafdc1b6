"""Exactly one provider payout, whatever breaks in between: a response lost after the provider
committed the create, or the worker going away mid-saga."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.ledger import EntryState
from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from tests.contract.conftest import Control, eventually
from tests.integration.conftest import (
    CREATE_PATH,
    api_requests,
    ledger_state,
    provider_state_is,
    saga_status,
    start_stack,
    wait_for_status,
)
from workflows.payout_models import PayoutResult, SagaState


async def test_create_committed_but_response_dropped_makes_one_payout(
    time_skipping: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    async with start_stack(
        time_skipping.client, sandbox_server, sandbox, tmp_path, client_timeout=1.0
    ) as stack:
        await sandbox.post("/sandbox/faults", {"commitThenDrop": 1, "paths": [CREATE_PATH]})
        saga_input = stack.payout()
        handle = await stack.start(saga_input)
        result = await saga_result(handle, PayoutResult)

        assert result.state == SagaState.COMPLETED, result.reason
        payouts = await stack.provider_payouts()
        assert len(payouts) == 1
        assert payouts[0]["idempotencyKey"] == str(saga_input.idempotency_key)
        creates = await api_requests(sandbox)
        # The dropped create committed; the retry found it by key instead of creating again.
        assert [c["fault"] for c in creates] == ["commitThenDrop"]
        lookups = await api_requests(sandbox, "/api/v1/payout")
        assert any(
            lookup["idempotencyKey"] == str(saga_input.idempotency_key)
            and lookup["at"] > creates[0]["at"]
            for lookup in lookups
        )
        assert (await saga_status(handle)).attempts[0].provider_id == payouts[0]["id"]
        assert await ledger_state(stack, saga_input) == EntryState.SETTLED


async def test_worker_restarted_mid_saga_completes_with_one_payout(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    # On the dev server: the time-skipping test server never hands a dead worker's sticky
    # workflow task to the new worker. Verification holds the payout in PENDING_CONFIRMATION,
    # so the saga is surely mid-way when the worker goes.
    await sandbox.post("/sandbox/config", {"verification": True})
    async with start_stack(
        dev_server.client, sandbox_server, sandbox, tmp_path, run_worker=False
    ) as stack:
        saga_input = stack.payout()
        async with stack.worker():
            handle = await stack.start(saga_input)
            submitted = await wait_for_status(handle, lambda s: s.state == SagaState.SUBMITTED)
        assert submitted.provider_id is not None
        pending = "PENDING_CONFIRMATION"
        await eventually(lambda: provider_state_is(sandbox, str(submitted.provider_id), pending))

        # No worker now: the provider moves on and its webhooks wait in the saga's history.
        await sandbox.post(f"/sandbox/payouts/{submitted.provider_id}/confirm")
        async with stack.worker():
            result = await saga_result(handle, PayoutResult)

        assert result.state == SagaState.COMPLETED, result.reason
        assert result.provider_id == submitted.provider_id
        assert len(await stack.provider_payouts()) == 1
        assert len(await api_requests(sandbox)) == 1
        assert await ledger_state(stack, saga_input) == EntryState.SETTLED
