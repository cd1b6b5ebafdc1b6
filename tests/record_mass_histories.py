"""Record mass-payout histories (the parent and one deal) into tests/histories/mass/.

    python -m tests.record_mass_histories              # every path
    python -m tests.record_mass_histories NAME ...     # only these (keeps the others' files)

Like tests/record_histories.py for single payouts: each path runs on a real Temporal server
against the sandbox, is checked to end as it claims, and its histories are written for
tests/test_replay_mass.py.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle, running_sandbox
from starter.api.outcomes import saga_result
from starter.service.logging import configure_logging
from tests.contract.conftest import CONTROL_TIMEOUT, Control, eventually
from tests.integration.conftest import SANDBOX, TRON, Stack, start_stack
from tests.record_histories import temporal
from workflows.approval_models import ApproveInput
from workflows.keys import mass_deal_key, mass_deal_workflow_id, mass_payout_workflow_id
from workflows.mass_deal import MassDealWorkflow
from workflows.mass_models import MassPayoutInput, MassPayoutResult, Recipients
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import CancelInput, ResendPolicy, ResolveInput, SagaState

MASS_HISTORIES = Path(__file__).parent / "histories" / "mass"
MassSaga = WorkflowHandle[MassPayoutWorkflow, MassPayoutResult]


@dataclass(frozen=True)
class MassPath:
    name: str
    expect: SagaState
    drive: Callable[[Stack], Awaitable[MassSaga]]
    dev_server: bool = False


def recipients(addresses: list[str]) -> Recipients:
    count = len(addresses)
    return Recipients(
        addresses=addresses,
        amounts=[Decimal(n + 1) for n in range(count)],
        comments=[None] * count,
        references=[f"ref-{n}" for n in range(count)],
    )


async def start(stack: Stack, request: MassPayoutInput) -> MassSaga:
    return await stack.client.start_workflow(
        MassPayoutWorkflow.run,
        request,
        id=mass_payout_workflow_id(request.idempotency_key),
        task_queue=stack.task_queue,
    )


async def partial_with_resend(stack: Stack) -> MassSaga:
    addresses = [TRON] * 7
    addresses[1] = TRON[:-4] + "fa11"  # fails every time: released
    addresses[4] = TRON[:-4] + "f1a1"  # fails once: paid when resent
    return await start(
        stack,
        MassPayoutInput(
            idempotency_key=uuid.uuid4(),
            currency="USDT_TRX",
            recipients=recipients(addresses),
            items_per_deal=3,
            resend=ResendPolicy(max_resends=1, delay_seconds=1),
            poll_interval_seconds=5,
        ),
    )


async def held_item_resolved(stack: Stack) -> MassSaga:
    """One item's withdrawal stays DRAFT in a PARTIAL deal: held, then resolved as paid."""
    await stack.sandbox.post("/sandbox/config", {"verification": True})
    addresses = [TRON, TRON[:-4] + "fa11", "TXLAQ63Xg1NAzckPwKHvzw7CSEmLMEqcdj"]
    request = MassPayoutInput(
        idempotency_key=uuid.uuid4(),
        currency="USDT_TRX",
        recipients=recipients(addresses),
        poll_interval_seconds=1,
    )
    saga = await start(stack, request)

    async def pending() -> str | None:
        deals = await stack.provider_payouts(kind="mass", state="PENDING_CONFIRMATION")
        return str(deals[0]["id"]) if deals else None

    deal_id = await eventually(pending, deadline=60)
    await stack.sandbox.post(f"/sandbox/payouts/{deal_id}/report", {"withdrawals": {"2": "DRAFT"}})
    await stack.sandbox.post(f"/sandbox/payouts/{deal_id}/confirm")

    async def held() -> bool | None:
        progress = await saga.query(MassPayoutWorkflow.progress)
        return True if progress.state == SagaState.NEEDS_REVIEW else None

    await eventually(held, deadline=60)
    deal = stack.client.get_workflow_handle(
        mass_deal_workflow_id(mass_deal_key(request.idempotency_key, 0))
    )
    decision = ResolveInput(outcome="paid", by="recorder", reason="seen on chain", item=2)
    await deal.execute_update(MassDealWorkflow.resolve, decision)
    return saga


async def canceled_before_date(stack: Stack) -> MassSaga:
    saga = await start(
        stack,
        MassPayoutInput(
            idempotency_key=uuid.uuid4(),
            currency="USDT_TRX",
            recipients=recipients([TRON] * 4),
            execution_date=datetime.now(UTC) + timedelta(days=3),
            items_per_deal=2,
        ),
    )

    async def scheduled() -> bool:
        return (await saga.query(MassPayoutWorkflow.progress)).state == SagaState.SCHEDULED

    await eventually(scheduled)
    await saga.execute_update(MassPayoutWorkflow.cancel, CancelInput(reason="recorded"))
    return saga


async def refused_item_approved(stack: Stack) -> MassSaga:
    """The operator's controls: one item on the deny list ends REJECTED at once, and the rest
    of the list waits for approval as a whole, then is paid."""
    denied = TRON[:-2] + "zz"
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as policy:
        policy.write(
            f'[default.approval]\nalways = true\n[default.recipients]\ndeny = ["{denied}"]\n'
        )
    stack.activities.policy.use(Path(policy.name))
    saga = await start(
        stack,
        MassPayoutInput(
            idempotency_key=uuid.uuid4(),
            currency="USDT_TRX",
            recipients=recipients([TRON, denied, TRON]),
            items_per_deal=2,
            requested_by="alice",
        ),
    )

    async def waiting() -> bool:
        progress = await saga.query(MassPayoutWorkflow.progress)
        return progress.state == SagaState.WAITING_FOR_APPROVAL

    await eventually(waiting)
    await saga.execute_update(MassPayoutWorkflow.approve, ApproveInput(by="bob"))
    return saga


PATHS = [
    MassPath("partial_with_resend", SagaState.PARTIAL, partial_with_resend),
    MassPath("refused_item_approved", SagaState.PARTIAL, refused_item_approved, dev_server=True),
    MassPath("canceled_before_date", SagaState.CANCELED, canceled_before_date, dev_server=True),
    MassPath("held_item_resolved", SagaState.PARTIAL, held_item_resolved, dev_server=True),
]


async def record(path: MassPath, env: WorkflowEnvironment, sandbox: SandboxHandle) -> list[Path]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=CONTROL_TIMEOUT) as http:
        control = Control(http)
        await control.post("/sandbox/reset")
        with tempfile.TemporaryDirectory() as tmp:
            async with start_stack(env.client, sandbox, control, Path(tmp)) as stack:
                saga = await path.drive(stack)
                result = await saga_result(saga, MassPayoutResult)
                if result.state != path.expect:
                    raise AssertionError(f"{path.name}: ended {result.state}: {result.reason}")
                written = [_write(f"{path.name}.json", (await saga.fetch_history()).to_json())]
                sent = [deal for deal in result.deals if deal.attempts]
                if sent:
                    deal = stack.client.get_workflow_handle(sent[0].workflow_id)
                    history = await deal.fetch_history()
                    written.append(_write(f"{path.name}.deal-0.json", history.to_json()))
    return written


def _write(name: str, text: str) -> Path:
    target = MASS_HISTORIES / name
    target.write_text(text + "\n")
    return target


async def main(names: list[str]) -> None:
    unknown = set(names) - {path.name for path in PATHS}
    if unknown:
        raise SystemExit(f"unknown path(s): {', '.join(sorted(unknown))}")
    chosen = [path for path in PATHS if not names or path.name in names]
    configure_logging("WARNING")
    MASS_HISTORIES.mkdir(parents=True, exist_ok=True)
    with running_sandbox(SANDBOX) as sandbox:
        for dev_server in (False, True):
            async with temporal(dev_server) as env:
                for path in (p for p in chosen if p.dev_server == dev_server):
                    for written in await record(path, env, sandbox):
                        print(f"{path.name:<24} {path.expect:<10} {written.name}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
