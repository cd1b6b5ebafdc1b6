"""How a payout ended is in the CLI's exit code (`starter/cli/exit_codes.py`): `pay --wait`,
`mass --wait`, `status` of a payout that has ended and `result` exit 0 for COMPLETED and a code
of its own for FAILED, REJECTED, CANCELED and PARTIAL — never 1 or 2, which mean the run itself
or its input went wrong."""

from __future__ import annotations

import asyncio
import csv
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.integration.cli_runner import Ran, run_payouts
from tests.integration.conftest import TRON, Stack
from tests.integration.mass_support import FAILS, tron

FAILED, REJECTED, CANCELED, PARTIAL = 10, 11, 12, 13


def pay(key: str, *extra: str, to: str = TRON) -> list[str]:
    return ["pay", "--to", to, "--amount", "25.50", "--currency", "USDT_TRX", "--key", key, *extra]


def mass(csv_file: Path, key: str, *extra: str) -> list[str]:
    return ["mass", "--csv", str(csv_file), "--currency", "USDT_TRX", "--name", "June",
            "--key", key, "--yes", *extra]  # fmt: skip


def recipients(path: Path, addresses: list[str]) -> Path:
    with path.open("w", newline="") as sink:
        csv.writer(sink).writerows([(address, "1.25") for address in addresses])
    return path


def exited(ran: Ran, code: int) -> Ran:
    assert "Traceback" not in ran.err, ran.err
    assert ran.code == code, (ran.code, ran.out[-2000:], ran.err)
    return ran


async def test_pay_wait_status_and_result_exit_with_the_outcome(
    dev_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    async def cli(*args: str) -> Ran:
        return await run_payouts(dev_stack, dev_server, *args)

    paid, failed, rejected = (str(uuid.uuid4()) for _ in range(3))
    waited = await asyncio.gather(
        cli(*pay(paid, "--wait")),
        cli(*pay(failed, "--wait", to=FAILS)),  # the network rejects this test card
        cli(*pay(rejected, "--wait", "--max-fee", "0.000001", "--json")),  # the fee is higher
    )
    for ran, code in zip(waited, (0, FAILED, REJECTED), strict=True):
        exited(ran, code)
    assert json.loads(waited[2].out)["state"] == "REJECTED"  # --json: still one document

    for key, code, state in ((paid, 0, "COMPLETED"), (failed, FAILED, "FAILED")):
        shown, ended = await asyncio.gather(cli("status", key), cli("result", key))
        exited(shown, code)
        assert exited(ended, code).out.startswith(f"{state} · {key}"), ended.out
    ended = exited(await cli("result", rejected, "--json"), REJECTED)
    assert json.loads(ended.out)["state"] == "REJECTED"


async def test_a_canceled_payout_exits_12_and_one_still_running_0(
    dev_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    key = str(uuid.uuid4())
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    started = exited(
        await run_payouts(dev_stack, dev_server, *pay(key, "--execution-date", tomorrow)), 0
    )
    assert "SCHEDULED" in started.out or "RECEIVED" in started.out, started.out
    exited(await run_payouts(dev_stack, dev_server, "status", key), 0)  # not ended yet
    exited(await run_payouts(dev_stack, dev_server, "cancel", key), 0)
    exited(await run_payouts(dev_stack, dev_server, "result", key), CANCELED)
    exited(await run_payouts(dev_stack, dev_server, "status", key, "--json"), CANCELED)


async def test_mass_wait_exits_0_when_all_paid_and_13_when_partial(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    complete, partial = str(uuid.uuid4()), str(uuid.uuid4())
    good = recipients(tmp_path / "good.csv", [tron(n) for n in range(3)])
    mixed = recipients(tmp_path / "mixed.csv", [tron(10), FAILS, tron(11)])

    paid, some = await asyncio.gather(
        run_payouts(dev_stack, dev_server, *mass(good, complete, "--wait", "--json"), cwd=tmp_path),
        run_payouts(dev_stack, dev_server, *mass(mixed, partial, "--wait"), cwd=tmp_path),
    )
    assert json.loads(exited(paid, 0).out)["state"] == "COMPLETED"
    assert "PARTIAL" in exited(some, PARTIAL).out
    assert f"started mass payout {partial}" in some.out

    ended = exited(await run_payouts(dev_stack, dev_server, "result", partial), PARTIAL)
    assert ended.out.startswith(f"PARTIAL · {partial}") and "failed 1" in ended.out, ended.out
    exited(await run_payouts(dev_stack, dev_server, "status", partial, "--json"), PARTIAL)
