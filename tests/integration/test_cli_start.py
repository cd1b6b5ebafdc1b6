"""Starting never leaves the operator guessing: with Temporal up and no worker, `pay` prints the
generated key and the saga's Temporal UI link the moment the start is accepted, then says in one
line that no worker polls the task queue and how to start one; re-running with that key starts
nothing new. `status`, `cancel` and `mass` say the same instead of waiting on an RPC timeout.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle
from tests.contract.conftest import Control
from tests.integration.cli_runner import Ran, run_payouts
from tests.integration.conftest import TRON, Stack, start_stack
from tests.integration.mass_support import tron

PAY = ["pay", "--to", TRON, "--amount", "25.50", "--currency", "USDT_TRX"]
KEY_LINE = re.compile(r"^key ([0-9a-f-]{36}) \(generated; to retry this (?:mass )?payout, pass")
UI = "http://127.0.0.1:8233/namespaces/default/workflows"
# The bug waited for the server's 30 s query timeout before saying anything; a CLI process takes
# a few seconds to start on a loaded 2-core machine. Well under 30 s means it did not wait.
PROMPT_SECONDS = 25


@pytest_asyncio.fixture
async def idle_stack(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """A stack whose task queue no worker polls (until the test runs one)."""
    async with start_stack(
        dev_server.client, sandbox_server, sandbox, tmp_path, run_worker=False
    ) as running:
        yield running


def no_worker_line(ran: Ran, stack: Stack) -> str:
    """The run's one error line, which must name the task queue and how to start a worker."""
    assert "Traceback" not in ran.err and "Timeout expired" not in ran.err, ran.err
    assert ran.code == 1, (ran.code, ran.out, ran.err)
    (line,) = ran.err_lines
    assert line.startswith(f"payouts: no worker is polling task queue '{stack.task_queue}'"), line
    assert "start one with `payouts worker`" in line, line
    return line


async def test_pay_without_a_worker_prints_key_and_link_then_says_so(
    idle_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    stack = idle_stack
    began = time.monotonic()
    first = await run_payouts(stack, dev_server, *PAY)
    took = time.monotonic() - began

    generated = KEY_LINE.match(first.out)
    assert generated, first.out
    key = generated.group(1)
    assert f"started payout {key}\n  Temporal UI: {UI}/payout-{key}\n" in first.out, first.out
    assert f"payout {key} is started" in no_worker_line(first, stack)
    assert took < PROMPT_SECONDS, f"took {took:.1f} s"

    handle = stack.client.get_workflow_handle(f"payout-{key}")
    stack.started.append(handle.id)
    run_id = (await handle.describe()).run_id

    again = await run_payouts(stack, dev_server, *PAY, "--key", key)
    no_worker_line(again, stack)
    assert not KEY_LINE.match(again.out) and f"started payout {key}" in again.out, again.out
    assert (await handle.describe()).run_id == run_id  # the same saga: nothing new started

    # What needs a worker says so too, promptly, instead of a raw RPC timeout or hanging.
    for args in (["status", key], ["cancel", key], ["result", key]):
        began = time.monotonic()
        no_worker_line(await run_payouts(stack, dev_server, *args), stack)
        assert time.monotonic() - began < PROMPT_SECONDS, args

    async with stack.worker():  # the fix the sentence names: the saga runs to its end, once
        done = await run_payouts(stack, dev_server, "result", key)
    assert done.code == 0, (done.out, done.err)
    assert done.out.startswith(f"COMPLETED · {key}"), done.out
    assert len(await stack.provider_payouts()) == 1


async def test_pay_json_without_a_worker_keeps_stdout_for_the_document(
    idle_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    ran = await run_payouts(idle_stack, dev_server, *PAY, "--json")
    assert ran.out == "", ran.out
    key_line, started, link, error = ran.err_lines
    generated = KEY_LINE.match(key_line)
    assert generated, ran.err
    key = generated.group(1)
    assert (started, link) == (f"started payout {key}", f"  Temporal UI: {UI}/payout-{key}")
    assert error.startswith(f"payouts: no worker is polling task queue '{idle_stack.task_queue}'")
    idle_stack.started.append(f"payout-{key}")


async def test_mass_without_a_worker_prints_the_key_and_starts_nothing(
    idle_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    listed = tmp_path / "list.csv"
    with listed.open("w", newline="") as sink:
        csv.writer(sink).writerows([(tron(n), "1.25") for n in range(3)])
    args = ["mass", "--csv", str(listed), "--currency", "USDT_TRX", "--name", "May", "--yes"]
    ran = await run_payouts(idle_stack, dev_server, *args, cwd=tmp_path)

    generated = KEY_LINE.match(ran.out)
    assert generated, ran.out
    # Said before the fee preview, which would wait for a worker forever.
    assert no_worker_line(ran, idle_stack).endswith("; nothing was started")
    with pytest.raises(RPCError) as missing:
        await idle_stack.client.get_workflow_handle(f"mass-payout-{generated.group(1)}").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
