"""The `payouts` mass verbs as a user runs them: the console script in a subprocess, against the
dev server and a worker running in this test on the stack's task queue."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from tests.integration.cli_runner import Ran, run_payouts
from tests.integration.conftest import Stack
from tests.integration.mass_support import MassHandle, amounts, finished, provider_mass_deals, tron
from workflows.keys import mass_payout_workflow_id
from workflows.mass_models import ItemState, MassProgress
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import SagaState

ITEMS = 5


async def payouts(stack: Stack, env: WorkflowEnvironment, cwd: Path, *args: str) -> Ran:
    return await run_payouts(stack, env, *args, cwd=cwd)


def good_csv(path: Path) -> Path:
    rows = [("address", "amount", "comment", "reference")]
    rows += [
        (tron(n), str(amount), f"bonus {n}", f"emp-{n}") for n, amount in enumerate(amounts(ITEMS))
    ]
    with path.open("w", newline="") as sink:
        csv.writer(sink).writerows(rows)
    return path


def mass_args(csv_file: Path, key: uuid.UUID, *extra: str) -> list[str]:
    return ["mass", "--csv", str(csv_file), "--currency", "usdt_trx", "--name", "May bonus",
            "--key", str(key), "--items-per-deal", "2", "--yes", *extra]  # fmt: skip


def mass_handle(stack: Stack, key: uuid.UUID) -> MassHandle:
    return stack.client.get_workflow_handle_for(
        MassPayoutWorkflow.run, mass_payout_workflow_id(key)
    )


async def test_a_csv_with_two_bad_rows_starts_nothing(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{tron(1)},10\n{tron(2)},ten\n{tron(3)},12.5\nnot-an-address,5\n{tron(5)},7\n")
    key = uuid.uuid4()
    ran = await payouts(dev_stack, dev_server, tmp_path, *mass_args(bad, key))

    assert "Traceback" not in ran.err, ran.err
    assert ran.code == 2, (ran.code, ran.err)
    lines = ran.err.splitlines()
    assert any("row 2" in line and "amount" in line for line in lines), lines
    assert any("row 4" in line and "address" in line for line in lines), lines
    assert not any(f"row {n}:" in ran.err for n in (1, 3, 5)), lines
    assert lines[-1].startswith("payouts: ") and "nothing was started" in lines[-1], lines
    with pytest.raises(RPCError) as missing:
        await mass_handle(dev_stack, key).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    calls = await dev_stack.sandbox.get("/sandbox/requests")  # not even a fee preview:
    assert [c["path"] for c in calls] == ["/api/v1/subscription/webhook/create"]  # (the stack's)


async def test_mass_yes_json_prints_one_json_document(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    key = uuid.uuid4()
    ran = await payouts(
        dev_stack, dev_server, tmp_path, *mass_args(good_csv(tmp_path / "l.csv"), key, "--json")
    )
    assert ran.code == 0, ran.err
    started = MassProgress.model_validate(json.loads(ran.out))  # stdout is one JSON document
    assert started.key == key and started.items == ITEMS
    result = await finished(mass_handle(dev_stack, key))
    assert result.state == SagaState.COMPLETED, result.reason


async def test_mass_then_status_and_report(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    key = uuid.uuid4()
    ran = await payouts(
        dev_stack, dev_server, tmp_path, *mass_args(good_csv(tmp_path / "l.csv"), key)
    )
    assert ran.code == 0, ran.err
    assert f"started mass payout {key}" in ran.out
    result = await finished(mass_handle(dev_stack, key))
    assert result.state == SagaState.COMPLETED, result.reason
    assert [d.items for d in result.deals] == [2, 2, 1]  # --items-per-deal reached the saga
    assert len(await provider_mass_deals(dev_stack)) == 3

    status = await payouts(dev_stack, dev_server, tmp_path, "status", str(key), "--json")
    assert status.code == 0, status.err
    progress = MassProgress.model_validate(json.loads(status.out))
    assert progress.key == key and progress.state == SagaState.COMPLETED
    assert progress.counts[ItemState.COMPLETED] == ITEMS and progress.items == ITEMS

    output = tmp_path / "report.csv"
    report = await payouts(
        dev_stack, dev_server, tmp_path, "mass-report", str(key), "--output", str(output)
    )
    assert report.code == 0, report.err
    with output.open(newline="") as source:
        rows = list(csv.DictReader(source))
    assert [row["index"] for row in rows] == [str(n) for n in range(ITEMS)]
    assert [row["state"] for row in rows] == ["COMPLETED"] * ITEMS
    assert [row["amount"] for row in rows] == [str(a) for a in amounts(ITEMS)]
    assert [row["reference"] for row in rows] == [f"emp-{n}" for n in range(ITEMS)]
    assert all(row["tx_hash"] and row["provider_id"] for row in rows)

    # cancel and reschedule work out from the key that it is a mass payout; it has ended.
    canceled = await payouts(dev_stack, dev_server, tmp_path, "cancel", str(key))
    assert canceled.code == 1 and "not canceled: already COMPLETED" in canceled.out, canceled.err
    when = ["--execution-date", "2030-01-01T09:00Z"]
    moved = await payouts(dev_stack, dev_server, tmp_path, "reschedule", str(key), *when)
    assert moved.code == 1, (moved.out, moved.err)
    assert moved.err.strip() == f"payouts: mass payout {key} has already ended COMPLETED"
