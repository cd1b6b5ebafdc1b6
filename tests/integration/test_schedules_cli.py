"""`payouts schedule …` as a user runs it: the console script in a subprocess, against the dev
server and a worker running in this test, sharing one payload store ($HOME/.payouts/payloads)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle
from starter.api import Payouts
from starter.service.payload_storage import data_converter
from starter.service.settings import Settings
from tests.contract.conftest import Control, eventually
from tests.integration.cli_runner import Ran, run_payouts
from tests.integration.conftest import TRON, Stack, start_stack
from tests.integration.mass_support import tron
from workflows.mass_models import ItemState
from workflows.payout_models import SagaState

DEADLINE = 120.0


@pytest_asyncio.fixture
async def cli_stack(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Stack]:
    """A stack whose worker reads the payload store the CLI writes: $HOME/.payouts/payloads."""
    monkeypatch.setenv("HOME", str(tmp_path))
    client = await Client.connect(
        dev_server.client.service_client.config.target_host,
        data_converter=data_converter(tmp_path / ".payouts" / "payloads"),
    )
    async with start_stack(client, sandbox_server, sandbox, tmp_path) as stack:
        yield stack
        handles = [client.get_schedule_handle(f"{stack.task_queue[-12:]}-{n}") for n in NAMES]
        for handle in handles:  # a test that failed half-way leaves no schedule firing
            with contextlib.suppress(RPCError):  # deleted by the test
                await handle.delete()


NAMES = ("rent", "bonus")


class Cli:
    def __init__(self, stack: Stack, env: WorkflowEnvironment, cwd: Path) -> None:
        self.stack, self.env, self.cwd = stack, env, cwd

    async def __call__(self, *args: str) -> Ran:
        ran = await run_payouts(self.stack, self.env, "schedule", *args, cwd=self.cwd)
        assert "Traceback" not in ran.err, ran.err
        return ran

    async def json(self, *args: str) -> Any:
        ran = await self(*args, "--json")
        assert ran.code == 0, (args, ran.code, ran.err)
        return json.loads(ran.out)

    async def described_when(self, schedule_id: str, check: Any) -> Any:
        async def probe() -> Any:
            view = await self.json("describe", schedule_id)
            return view if check(view) else None

        return await eventually(probe, deadline=DEADLINE, interval=1.0)


async def test_a_schedule_from_create_to_delete(
    cli_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    cli, sid = Cli(cli_stack, dev_server, tmp_path), f"{cli_stack.task_queue[-12:]}-rent"
    create = ["create", "--id", sid, "--cron", "0 9 1 * *", "--timezone", "Europe/Berlin",
              "--to", TRON, "--amount", "4", "--currency", "usdt_trx",
              "--requested-by", "alice"]  # fmt: skip
    created = await cli.json(*create)
    assert (created["schedule_id"], created["kind"], created["amount"]) == (sid, "single", 4)
    assert (created["overlap"], created["requested_by"], created["paused"]) == (
        "hold",
        "alice",
        False,
    )
    assert created["when"] == "cron 0 9 1 * * (Europe/Berlin)" and created["next_runs"]

    again = await cli(*create)
    assert again.code == 2 and again.err_lines == [
        f"payouts: id: a schedule {sid!r} already exists (update or delete it)"
    ]

    async def listed() -> bool:
        return sid in [view["schedule_id"] for view in await cli.json("list")]

    await eventually(listed, deadline=DEADLINE, interval=1.0)

    assert (await cli.json("trigger", sid))["schedule_id"] == sid
    view = await cli.described_when(
        sid, lambda v: [o["saga_state"] for o in v["occurrences"]] == ["COMPLETED"]
    )
    key = view["occurrences"][0]["key"]
    assert view["occurrences"][0]["saga_workflow_id"] == f"payout-{key}"
    paid = await cli_stack.provider_payouts(idempotencyKey=key)
    assert [(p["state"], Decimal(str(p["amount"]))) for p in paid] == [("COMPLETED", Decimal(4))]
    shown = await cli("describe", sid)  # the human view names the payout's key and state
    assert shown.code == 0 and key in shown.out and "COMPLETED" in shown.out, shown.out

    paused = await cli.json("pause", sid, "--note", "audit in progress")
    assert (paused["paused"], paused["note"]) == (True, "audit in progress")
    unpaused = await cli.json("unpause", sid, "--note", "audit done")
    assert (unpaused["paused"], unpaused["note"]) == (False, "audit done")

    updated = await cli.json("update", sid, "--amount", "5", "--every", "1d")
    assert (updated["amount"], updated["timing"]["cron"], updated["when"]) == (5, None, "every 1d")
    assert updated["requested_by"] == "alice" and updated["to"] == TRON

    deleted = await cli("delete", sid)
    assert deleted.code == 0 and f"deleted schedule {sid}" in deleted.out
    gone = await cli("describe", sid)
    assert (gone.code, gone.err_lines) == (1, [f"payouts: id: no payout schedule {sid!r}"])


async def test_a_mass_schedule_pays_the_snapshot_taken_at_create(
    cli_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    cli, sid = Cli(cli_stack, dev_server, tmp_path), f"{cli_stack.task_queue[-12:]}-bonus"
    recipients = tmp_path / "bonus.csv"
    recipients.write_text("".join(f"{tron(n)},{n + 1}.25,bonus {n}\n" for n in range(4)))
    created = await cli.json(
        "create", "--id", sid, "--every", "30d", "--csv", str(recipients), "--currency", "USDT_TRX",
        "--name", "monthly bonus", "--overlap", "allow",
    )  # fmt: skip
    assert (created["kind"], created["items"], created["total"]) == ("mass", 4, 11)
    assert created["snapshot_at"] and created["overlap"] == "allow"
    recipients.write_text(f"{tron(9)},1000\n")  # the schedule pays what it snapshotted

    await cli.json("trigger", sid)
    view = await cli.described_when(
        sid, lambda v: [o["saga_state"] for o in v["occurrences"]] == ["COMPLETED"]
    )
    key = view["occurrences"][0]["key"]
    assert view["occurrences"][0]["saga_workflow_id"] == f"mass-payout-{key}"
    payouts = Payouts(cli_stack.client, Settings(task_queue=cli_stack.task_queue))
    result = await payouts.mass.result(uuid.UUID(key))
    assert result.state == SagaState.COMPLETED, result.reason
    assert result.counts.get(ItemState.COMPLETED) == 4 and result.paid == Decimal(11)
    assert (await cli("delete", sid)).code == 0
