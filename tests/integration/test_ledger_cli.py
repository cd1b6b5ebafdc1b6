"""The embedded ledger's operator interface with real sagas: a refusal names what to fund and the
command that funds it (and that command works), a refused mass payout releases only what it had
reserved, `payouts ledger release` waits for the saga to end, and the mass preview starts nothing
the ledger cannot cover. The console script runs in a subprocess on the stack's ledger file."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shlex
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.ledger import EntryState, ReserveRequest
from starter.api.outcomes import saga_result
from tests.contract.conftest import eventually
from tests.integration.cli_runner import CLI_DEADLINE_SECONDS, ROOT, Ran
from tests.integration.conftest import Stack, wait_for_status
from tests.integration.mass_support import (
    MASS_CREATE,
    amounts,
    finished,
    mass_input,
    recipients,
    start_mass,
    tron,
    wait_for_progress,
)
from workflows.keys import mass_payout_workflow_id
from workflows.ledger_steps import item_ledger_key
from workflows.mass_models import ItemState
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import PayoutResult, SagaState

D = Decimal
FUND_IT = "; fund it: "


async def payouts(stack: Stack, env: WorkflowEnvironment, tmp_path: Path, *args: str) -> Ran:
    """`payouts ARGS` on the stack's Temporal, task queue and ledger file, nothing inherited."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CALYPSO_", "TEMPORAL_", "PAYOUTS_", "SANDBOX_"))
    }
    environ.update(
        PYTHONPATH=str(ROOT),
        TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        PAYOUTS_TASK_QUEUE=stack.task_queue,
        PAYOUTS_HOME=str(tmp_path / "home"),
        PAYOUTS_LEDGER_PATH=str(stack.ledger.path),
        PAYOUTS_LOG_LEVEL="WARNING",
        COLUMNS="200",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from starter.cli.main import main; main()",
        *args,
        cwd=tmp_path,
        env=environ,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=CLI_DEADLINE_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


async def state_of(stack: Stack, key: str) -> EntryState | None:
    entry = await stack.ledger.entry(key)
    return None if entry is None else entry.state


def fund_command(text: str) -> list[str]:
    """The `payouts ledger fund …` command a refusal ends with, as arguments after `payouts`."""
    assert FUND_IT in text, text
    words = shlex.split(text.split(FUND_IT, 1)[1])
    assert words[:3] == ["payouts", "ledger", "fund"], words
    return words[1:]


async def test_a_single_payout_refused_by_the_ledger_says_how_to_fund_it(
    stack: Stack, time_skipping: WorkflowEnvironment, tmp_path: Path
) -> None:
    await stack.ledger.fund("ops", "USDT_TRX", D(10))
    saga_input = stack.payout(ledger_account="ops")  # 25.5
    key = saga_input.idempotency_key
    result = await saga_result(await stack.start(saga_input), PayoutResult)

    assert result.state == SagaState.REJECTED
    assert result.reason == (
        "ledger refused the reservation: sub-account 'ops' has 10 USDT_TRX available, needs 25.5"
        f"; fund it: payouts ledger fund ops USDT_TRX 15.5 --reference topup-{key}"
    )
    assert await stack.provider_payouts() == []

    funded = await payouts(stack, time_skipping, tmp_path, *fund_command(result.reason))
    assert funded.code == 0, funded.err
    again = stack.payout(ledger_account="ops")
    paid = await saga_result(await stack.start(again), PayoutResult)
    assert paid.state == SagaState.COMPLETED, paid.reason


async def test_a_mass_payout_refused_by_the_ledger_names_the_whole_list(
    stack: Stack, time_skipping: WorkflowEnvironment, tmp_path: Path
) -> None:
    await stack.ledger.fund("ops", "USDT_TRX", D(2))  # the first item's 1.25, not the list's 6.75
    request = mass_input([tron(n) for n in range(3)], ledger_account="ops")
    handle = await start_mass(stack, request)
    result = await finished(handle)

    key = request.idempotency_key
    assert result.state == SagaState.REJECTED
    assert result.reason == (
        "ledger refused the reservation: sub-account 'ops' has 2 USDT_TRX available,"
        " needs 6.75 for all 3 items"
        f"; fund it: payouts ledger fund ops USDT_TRX 4.75 --reference topup-{key}"
    )
    progress = await handle.query(MassPayoutWorkflow.progress)
    assert progress.released == 0 and result.released == 0  # nothing was ever reserved
    assert progress.counts[ItemState.CANCELED] == 3
    balance = await stack.ledger.balance("ops", "USDT_TRX")
    assert (balance.available, balance.reserved) == (D(2), D(0))

    status = await payouts(stack, time_skipping, tmp_path, "status", str(key))  # its exit code
    assert "Traceback" not in status.err, status.err  # tells the outcome: not checked here
    assert "released 0 " in status.out and "needs 6.75 for all 3 items" in status.out


async def test_a_refusal_after_a_reserved_batch_releases_only_that_batch(
    stack: Stack, time_skipping: WorkflowEnvironment, tmp_path: Path
) -> None:
    """2,100 items of 1: the first batch of 2,000 is reserved, the second refused; the saga
    releases the first, and says the list needs 2,100 against the 2,050 the account had."""
    await stack.ledger.fund("ops", "USDT_TRX", D(2050))
    addresses = [tron(n) for n in range(2100)]
    request = mass_input(
        addresses, recipients=recipients(addresses, [D(1)] * 2100), ledger_account="ops"
    )
    result = await finished(await start_mass(stack, request), deadline=240.0)

    key = request.idempotency_key
    assert result.state == SagaState.REJECTED
    assert result.reason is not None
    assert "has 2050 USDT_TRX available, needs 2100 for all 2100 items" in result.reason
    assert fund_command(result.reason)[:4] == ["ledger", "fund", "ops", "USDT_TRX"]
    assert fund_command(result.reason)[4] == "50"
    assert result.released == D(2000)  # the reserved batch, not the whole list
    balance = await stack.ledger.balance("ops", "USDT_TRX")
    assert (balance.available, balance.reserved) == (D(2050), D(0))

    listed = await payouts(stack, time_skipping, tmp_path, "ledger", "entries", str(key), "--json")
    assert listed.code == 0, listed.err
    document = json.loads(listed.out, parse_float=Decimal)
    assert document["count"] == 2100 and document["saga"] == f"mass-payout-{key}"
    totals = {(t["state"], t["currency"]): (t["count"], t["amount"]) for t in document["totals"]}
    # Released with their amount, and the never-reserved rest closed by tombstones.
    assert totals == {("RELEASED", "USDT_TRX"): (2000, 2000), ("RELEASED", None): (100, 0)}


async def test_release_waits_for_the_saga_to_end(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    stack = dev_stack
    saga_input = stack.payout(execution_date=datetime.now(UTC) + timedelta(days=30))
    key = str(saga_input.idempotency_key)
    handle = await stack.start(saga_input)
    await wait_for_status(handle, lambda status: status.state == SagaState.SCHEDULED)

    refused = await payouts(stack, dev_server, tmp_path, "ledger", "release", key, "--reason", "x")
    assert refused.code == 1, (refused.out, refused.err)
    assert f"saga payout-{key} is still running" in refused.err
    assert await state_of(stack, key) == EntryState.RESERVED

    await handle.terminate("stuck in a test")  # ended without settling or releasing
    released = await payouts(
        stack, dev_server, tmp_path, "ledger", "release", key, "--reason", "saga terminated"
    )
    assert released.code == 0, released.err
    assert "1 entry, 25.5 USDT_TRX back to available" in released.out
    assert f"saga payout-{key}: TERMINATED" in released.out
    entry = await stack.ledger.entry(key)
    assert entry is not None and entry.state == EntryState.RELEASED
    assert entry.reason == "released by operator: saga terminated"
    assert (await stack.ledger.balance("default", "USDT_TRX")).reserved == 0

    orphan = str(uuid.uuid4())  # a reservation whose saga never existed
    await stack.ledger.reserve(
        ReserveRequest(key=orphan, sub_account="default", currency="USDT_TRX", amount=D(3))
    )
    gone = await payouts(stack, dev_server, tmp_path, "ledger", "release", orphan, "--reason", "x")
    assert gone.code == 0, gone.err
    assert "no such workflow" in gone.out


async def test_release_of_a_mass_payout_waits_for_it_and_its_deals(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    stack = dev_stack
    await stack.sandbox.post("/sandbox/config", {"verification": True})  # the deal stays open
    request = mass_input([tron(n) for n in range(4)])
    handle = await start_mass(stack, request)
    await wait_for_progress(handle, lambda progress: progress.deals[0].state == "RUNNING")
    key = str(request.idempotency_key)
    item = item_ledger_key(request.idempotency_key, 2)

    async def release(target: str, *extra: str) -> Ran:
        return await payouts(
            stack, dev_server, tmp_path, "ledger", "release", target, "--reason", "gone", *extra
        )

    for target in (key, item):
        ran = await release(target)
        assert ran.code == 1 and f"saga mass-payout-{key} is still running" in ran.err, ran.err

    await handle.terminate("stuck in a test")  # its deal, abandoned, still holds the items
    ran = await release(key)
    assert ran.code == 1, (ran.out, ran.err)
    assert f"1 deal(s) of saga mass-payout-{key} are still running" in ran.err
    assert await state_of(stack, item) == EntryState.RESERVED

    (deal,) = (await handle.query(MassPayoutWorkflow.progress)).deals
    await stack.client.get_workflow_handle(deal.workflow_id).terminate("stuck in a test")

    async def no_deal_running() -> bool:  # the list the CLI asks is eventually consistent
        query = f"ParentWorkflowId = 'mass-payout-{key}' AND ExecutionStatus = 'Running'"
        return (await stack.client.count_workflows(query)).count == 0

    await eventually(no_deal_running)
    ran = await release(key, "--json")
    assert ran.code == 0, ran.err
    document: dict[str, Any] = json.loads(ran.out, parse_float=Decimal)
    assert (document["released"], document["amount"]) == (4, sum(amounts(4), D(0)))
    assert document["saga_status"] == "TERMINATED"
    items = [item_ledger_key(request.idempotency_key, n) for n in range(4)]
    assert [await state_of(stack, each) for each in items] == [EntryState.RELEASED] * 4


def short_csv(path: Path) -> Path:
    with path.open("w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["address", "amount"])
        writer.writerows((tron(n), str(amount)) for n, amount in enumerate(amounts(5)))
    return path  # 1.25 + 2.25 + 3.25 + 4.25 + 5.25 = 16.25


async def test_the_mass_preview_starts_nothing_the_ledger_cannot_cover(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    stack = dev_stack
    await stack.ledger.fund("ops", "USDT_TRX", D(10))
    key = uuid.uuid4()
    mass = ["mass", "--csv", str(short_csv(tmp_path / "list.csv")), "--currency", "USDT_TRX",
            "--name", "May", "--key", str(key), "--ledger-account", "ops", "--yes"]  # fmt: skip

    refused = await payouts(stack, dev_server, tmp_path, *mass)
    assert refused.code == 2, (refused.out, refused.err)
    line = refused.err.strip().splitlines()[-1]
    assert line == (
        "payouts: ledger: nothing was started: sub-account 'ops' has 10 USDT_TRX available,"
        " needs 16.25 for all 5 items"
        f"; fund it: payouts ledger fund ops USDT_TRX 6.25 --reference topup-{key}"
    )
    with pytest.raises(RPCError) as missing:
        await stack.client.get_workflow_handle(mass_payout_workflow_id(key)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert await stack.sandbox.get(f"/sandbox/requests?path={MASS_CREATE}") == []

    funded = await payouts(stack, dev_server, tmp_path, *fund_command(line))
    assert funded.code == 0, funded.err
    started = await payouts(stack, dev_server, tmp_path, *mass)
    assert started.code == 0, started.err
    assert "balance " in started.out and "ledger 'ops' available 16.25" in started.out
    handle = stack.client.get_workflow_handle_for(
        MassPayoutWorkflow.run, mass_payout_workflow_id(key)
    )
    stack.started.append(handle.id)
    assert (await finished(handle)).state == SagaState.COMPLETED
