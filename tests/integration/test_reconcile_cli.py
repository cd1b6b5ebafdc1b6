"""`payouts reconcile`'s exit codes for bad input and without a worker, and the schedule that
`payouts setup --reconcile-every` creates, updates and deletes (real dev server, real CLI)."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import ScheduleActionStartWorkflow, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from starter.service.reconcile_schedule import SCHEDULE_ID
from tests.contract.conftest import eventually
from tests.integration.cli_runner import run_payouts
from tests.integration.conftest import Stack
from tests.integration.test_reconcile import DEADLINE
from workflows.search_attributes import RECONCILE_DISCREPANCIES


async def test_reconcile_exit_codes_for_bad_input_and_no_worker(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    for args, names in [
        (["--since", "yesterday"], ["since", "'yesterday'"]),
        (["--since", "2026-01-01T00:00"], ["since", "time zone"]),
        (["--since", "2999-01-01T00:00Z"], ["since", "future"]),
        (["--output", str(tmp_path / "report.txt")], ["output", ".json or .csv"]),
        (["--timeout", "0"], ["timeout"]),
    ]:
        ran = await run_payouts(dev_stack, dev_server, "reconcile", *args)
        assert ran.code == 2, (args, ran.err)
        assert len(ran.err_lines) == 1 and all(name in ran.err for name in names), ran.err

    nobody = dataclasses.replace(dev_stack, task_queue=f"nobody-{uuid.uuid4()}")
    ran = await run_payouts(nobody, dev_server, "reconcile", "--json")
    assert ran.code == 1
    assert f"no worker is polling task queue '{nobody.task_queue}'" in ran.err
    assert "nothing was compared" in ran.err
    assert ran.out == ""


async def test_setup_keeps_the_reconcile_schedule(
    dev_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    client = dev_stack.client
    schedule = client.get_schedule_handle(SCHEDULE_ID)

    async def setup(every: str) -> str:
        ran = await run_payouts(dev_stack, dev_server, "setup", "--reconcile-every", every)
        assert ran.code == 0, ran.err
        return ran.out

    async def interval() -> timedelta:
        described = await schedule.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == ("Reconcile", dev_stack.task_queue)
        (spec,) = described.schedule.spec.intervals
        return spec.every

    try:
        assert "reconcile schedule created" in await setup("1h")
        assert await interval() == timedelta(hours=1)
        assert "reconcile schedule unchanged" in await setup("1h")
        assert "reconcile schedule updated" in await setup("30m")
        assert await interval() == timedelta(minutes=30)

        await schedule.trigger()
        query = f"WorkflowType = 'Reconcile' AND TaskQueue = '{dev_stack.task_queue}'"

        async def ran_once() -> bool:
            async for run in client.list_workflows(query):
                if run.status == WorkflowExecutionStatus.COMPLETED:
                    return run.typed_search_attributes.get(RECONCILE_DISCREPANCIES) == 0
            return False

        await eventually(ran_once, deadline=DEADLINE, interval=0.2)

        assert "reconcile schedule payouts-reconcile deleted" in await setup("off")
        try:
            await schedule.describe()
            raise AssertionError("the schedule is still there")
        except RPCError as exc:
            assert exc.status == RPCStatusCode.NOT_FOUND
        assert "no reconcile schedule" in await setup("off")
        for bad in ("10s", "hourly", "1h-"):
            ran = await run_payouts(dev_stack, dev_server, "setup", "--reconcile-every", bad)
            assert ran.code == 2 and "reconcile-every" in ran.err, (bad, ran.err)
    finally:
        with contextlib.suppress(RPCError):  # deleted already when the test got that far
            await schedule.delete()
