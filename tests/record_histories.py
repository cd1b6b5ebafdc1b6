"""Record one workflow history per saga path into tests/histories/<name>.json for replay tests.

    python -m tests.record_histories                  # every path
    python -m tests.record_histories completed ...    # only these

Each path runs a real saga on the Temporal test server (the dev server for paths that need an
update) against the real sandbox, checks that it ended the way the path claims, and writes its
full history. `tests/test_replay.py` replays every file against the current workflow code.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.ledger import EntryState
from sandbox.server import SandboxHandle, running_sandbox
from starter.api.outcomes import saga_result
from starter.service.binaries import installed_binary
from starter.service.logging import configure_logging
from starter.service.search_attribute_setup import register_search_attributes
from tests.contract.conftest import CONTROL_TIMEOUT, Control, eventually
from tests.integration.conftest import SANDBOX, TRON, Stack, start_stack
from tests.screening_hook import running_screening_hook
from workflows.approval_models import ApproveInput, DenyInput
from workflows.payout_models import (
    CancelInput,
    PayoutInput,
    PayoutResult,
    PayoutStatus,
    ResendPolicy,
    ResolveInput,
    SagaState,
)
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES
from workflows.single_payout import SinglePayoutWorkflow

HISTORIES = Path(__file__).parent / "histories"
Saga = WorkflowHandle[SinglePayoutWorkflow, PayoutResult]


@dataclass(frozen=True)
class SagaPath:
    """One way a saga can go: how to drive it, and the final state that proves it went so."""

    name: str
    expect: SagaState
    drive: Callable[[Stack], Awaitable[Saga]]
    dev_server: bool = False  # updates need the dev server (no time skipping during updates)
    webhooks: bool = True


async def status_of(saga: Saga) -> PayoutStatus:
    return await saga.query(SinglePayoutWorkflow.status)


async def wait_for(saga: Saga, ready: Callable[[PayoutStatus], bool]) -> PayoutStatus:
    async def check() -> PayoutStatus | None:
        status = await status_of(saga)
        return status if ready(status) else None

    found: PayoutStatus = await eventually(check, deadline=60)
    return found


# --- the paths ------------------------------------------------------------------------------------


async def completed(stack: Stack) -> Saga:
    return await stack.start(stack.payout())


async def completed_duplicate_webhooks(stack: Stack) -> Saga:
    await stack.sandbox.post("/sandbox/faults", {"webhookDuplicate": True})
    saga = await stack.start(stack.payout())
    await saga_result(saga, PayoutResult)
    notes = [entry.note for entry in (await status_of(saga)).timeline]
    assert "ignored: duplicate" in notes, notes
    return saga


async def polling_only(stack: Stack) -> Saga:
    saga = await stack.start(stack.payout())
    await saga_result(saga, PayoutResult)
    sources = {entry.source for entry in (await status_of(saga)).timeline}
    assert "webhook" not in sources and "poll" in sources, sources
    return saga


async def failed_released(stack: Stack) -> Saga:
    saga_input = stack.payout(deposit_address=TRON[:-4] + "fa11")
    saga = await stack.start(saga_input)
    await saga_result(saga, PayoutResult)
    entry = await stack.ledger.entry(str(saga_input.idempotency_key))
    assert entry is not None and entry.state == EntryState.RELEASED, entry
    return saga


async def failed_with_one_resend(stack: Stack) -> Saga:
    saga = await stack.start(
        stack.payout(
            deposit_address=TRON[:-4] + "fa11",
            resend=ResendPolicy(max_resends=1, delay_seconds=60),
        )
    )
    assert (await saga_result(saga, PayoutResult)).attempts == 2
    return saga


async def rejected_fee_above_max(stack: Stack) -> Saga:
    return await stack.start(stack.payout(max_fee=Decimal("0.01")))  # the fee quote is 0.1275


async def insufficient_funds_deadline(stack: Stack) -> Saga:
    await stack.sandbox.post("/sandbox/balances", {"currency": "USDT_TRX", "amount": 1})
    saga = await stack.start(stack.payout(funds_wait_seconds=300))
    result = await saga_result(saga, PayoutResult)
    assert result.reason and result.reason.startswith("insufficient_funds"), result.reason
    assert await stack.provider_payouts() == []
    return saga


async def canceled_before_creation(stack: Stack) -> Saga:
    saga = await stack.start(stack.payout(execution_date=datetime.now(UTC) + timedelta(days=1)))
    await wait_for(saga, lambda status: status.state == SagaState.SCHEDULED)
    outcome = await saga.execute_update(SinglePayoutWorkflow.cancel, CancelInput(reason="test"))
    assert outcome.accepted, outcome
    assert await stack.provider_payouts() == []
    return saga


async def cancel_refused_then_completed(stack: Stack) -> Saga:
    # A slow payout stays IN_PROGRESS (no longer cancelable at the provider) for 10 steps.
    await stack.sandbox.post("/sandbox/config", {"stepDelaySeconds": 0.5})
    saga = await stack.start(stack.payout(deposit_address=TRON[:-4] + "sLow"))
    await wait_for(saga, lambda status: status.provider_state == "IN_PROGRESS")
    outcome = await saga.execute_update(SinglePayoutWorkflow.cancel, CancelInput(reason="test"))
    assert not outcome.accepted, outcome
    return saga


async def _provider_id(stack: Stack, saga_input: PayoutInput) -> str:
    (payout,) = await stack.provider_payouts(idempotencyKey=str(saga_input.idempotency_key))
    provider_id: str = payout["id"]
    return provider_id


async def held_unknown_state_resolved_paid(stack: Stack) -> Saga:
    await stack.sandbox.post("/sandbox/config", {"verification": True})
    saga_input = stack.payout(poll_interval_seconds=1)
    saga = await stack.start(saga_input)
    await wait_for(saga, lambda status: status.provider_state == "PENDING_CONFIRMATION")
    provider_id = await _provider_id(stack, saga_input)
    await stack.sandbox.post(f"/sandbox/payouts/{provider_id}/report", {"state": "ON_HOLD"})
    await wait_for(saga, lambda status: status.state == SagaState.NEEDS_REVIEW)
    decision = ResolveInput(outcome="paid", by="recorder", reason="confirmed by the provider")
    await saga.execute_update(SinglePayoutWorkflow.resolve, decision)
    return saga


async def unconfirmed_review_then_confirmed(stack: Stack) -> Saga:
    await stack.sandbox.post("/sandbox/config", {"verification": True})
    saga_input = stack.payout(poll_interval_seconds=1, confirmation_wait_seconds=2)
    saga = await stack.start(saga_input)
    await wait_for(saga, lambda status: status.state == SagaState.NEEDS_REVIEW)
    provider_id = await _provider_id(stack, saga_input)
    await stack.sandbox.post(f"/sandbox/payouts/{provider_id}/confirm")
    return saga


async def validation_error_confirmed(stack: Stack) -> Saga:
    return await stack.start(stack.payout(deposit_address=TRON[:-4] + "bad1"))


async def resend_skipped_paid_elsewhere(stack: Stack) -> Saga:
    fails_once = TRON[:-4] + "f1a1"  # the first payment fails, the next one is paid
    saga = await stack.start(
        stack.payout(
            deposit_address=fails_once, resend=ResendPolicy(max_resends=1, delay_seconds=3)
        )
    )
    await wait_for(saga, lambda status: status.state == SagaState.WAITING_TO_RESEND)
    ui_payout = {"depositAddress": fails_once, "amount": 25.5, "currency": "USDT_TRX"}
    await stack.sandbox.post("/sandbox/ui/payouts", ui_payout)
    result = await saga_result(saga, PayoutResult)
    assert result.reason and "not resent" in result.reason, result.reason
    return saga


def use_policy(stack: Stack, text: str) -> None:
    """Put a policy in force on the stack's worker (a file that outlives the recording)."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as file:
        file.write(text)
    stack.activities.policy.use(Path(file.name))


ALWAYS_APPROVE = "[default.approval]\nalways = true\n"


async def controls_approved_completed(stack: Stack) -> Saga:
    use_policy(stack, ALWAYS_APPROVE)
    saga = await stack.start(stack.payout(requested_by="alice"))
    await wait_for(saga, lambda status: status.state == SagaState.WAITING_FOR_APPROVAL)
    await saga.execute_update(SinglePayoutWorkflow.approve, ApproveInput(by="bob"))
    return saga


async def controls_denied_rejected(stack: Stack) -> Saga:
    use_policy(stack, ALWAYS_APPROVE)
    saga = await stack.start(stack.payout(requested_by="alice"))
    await wait_for(saga, lambda status: status.state == SagaState.WAITING_FOR_APPROVAL)
    await saga.execute_update(SinglePayoutWorkflow.deny, DenyInput(by="bob", reason="no"))
    return saga


async def controls_approval_expired(stack: Stack) -> Saga:
    use_policy(stack, ALWAYS_APPROVE + "expires_after_hours = 0.0005\n")
    return await stack.start(stack.payout())


async def controls_screening_denied(stack: Stack) -> Saga:
    async with running_screening_hook() as hook:
        os.environ["PAYOUTS_SCREENING_SECRET"] = hook.secret
        use_policy(stack, f'[default.screening]\nurl = "{hook.url}"\n')
        hook.deny.add(TRON)
        saga = await stack.start(stack.payout())
        await saga_result(saga, PayoutResult)  # while the hook still answers
    return saga


PATHS = [
    SagaPath("completed", SagaState.COMPLETED, completed),
    SagaPath("completed_duplicate_webhooks", SagaState.COMPLETED, completed_duplicate_webhooks),
    SagaPath("polling_only", SagaState.COMPLETED, polling_only, webhooks=False),
    SagaPath("failed_released", SagaState.FAILED, failed_released),
    SagaPath("failed_with_one_resend", SagaState.FAILED, failed_with_one_resend),
    SagaPath("rejected_fee_above_max", SagaState.REJECTED, rejected_fee_above_max),
    SagaPath("insufficient_funds_deadline", SagaState.FAILED, insufficient_funds_deadline),
    SagaPath(
        "canceled_before_creation", SagaState.CANCELED, canceled_before_creation, dev_server=True
    ),
    SagaPath(
        "cancel_refused_then_completed",
        SagaState.COMPLETED,
        cancel_refused_then_completed,
        dev_server=True,
    ),
    SagaPath(
        "held_unknown_state_resolved_paid",
        SagaState.COMPLETED,
        held_unknown_state_resolved_paid,
        dev_server=True,
    ),
    SagaPath(
        "unconfirmed_review_then_confirmed",
        SagaState.COMPLETED,
        unconfirmed_review_then_confirmed,
        dev_server=True,
    ),
    SagaPath("validation_error_confirmed", SagaState.FAILED, validation_error_confirmed),
    SagaPath(
        "resend_skipped_paid_elsewhere",
        SagaState.FAILED,
        resend_skipped_paid_elsewhere,
        dev_server=True,
    ),
    SagaPath(
        "controls_approved_completed",
        SagaState.COMPLETED,
        controls_approved_completed,
        dev_server=True,
    ),
    SagaPath(
        "controls_denied_rejected", SagaState.REJECTED, controls_denied_rejected, dev_server=True
    ),
    SagaPath(
        "controls_approval_expired", SagaState.CANCELED, controls_approval_expired, dev_server=True
    ),
    SagaPath(
        "controls_screening_denied", SagaState.REJECTED, controls_screening_denied, dev_server=True
    ),
]


# --- running them ---------------------------------------------------------------------------------


@asynccontextmanager
async def temporal(dev_server: bool) -> AsyncIterator[WorkflowEnvironment]:
    if dev_server:
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=installed_binary("temporal"),
            search_attributes=SEARCH_ATTRIBUTES,
        )
    else:
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=installed_binary("temporal-test-server"),
        )
        await register_search_attributes(env.client, env.client.namespace)
    try:
        yield env
    finally:
        await env.shutdown()


async def record(path: SagaPath, env: WorkflowEnvironment, sandbox: SandboxHandle) -> Path:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=CONTROL_TIMEOUT) as http:
        control = Control(http)
        await control.post("/sandbox/reset")
        with tempfile.TemporaryDirectory() as tmp:
            async with start_stack(
                env.client, sandbox, control, Path(tmp), webhooks=path.webhooks
            ) as stack:
                saga = await path.drive(stack)
                result = await saga_result(saga, PayoutResult)
                if result.state != path.expect:
                    raise AssertionError(f"{path.name}: ended {result.state}: {result.reason}")
                history = await saga.fetch_history()
    target = HISTORIES / f"{path.name}.json"
    target.write_text(history.to_json() + "\n")
    return target


async def main(names: list[str]) -> None:
    unknown = set(names) - {path.name for path in PATHS}
    if unknown:
        raise SystemExit(f"unknown path(s): {', '.join(sorted(unknown))}")
    chosen = [path for path in PATHS if not names or path.name in names]
    configure_logging("WARNING")  # the sandbox and the worker narrate every step at INFO
    HISTORIES.mkdir(exist_ok=True)
    with running_sandbox(SANDBOX) as sandbox:
        for dev_server in (False, True):
            group = [path for path in chosen if path.dev_server == dev_server]
            if not group:
                continue
            async with temporal(dev_server) as env:
                for path in group:
                    written = await record(path, env, sandbox)
                    print(f"{path.name:<32} {path.expect:<10} {written.relative_to(Path.cwd())}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
