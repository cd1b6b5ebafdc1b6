"""Four eyes from the command line: `pay --requested-by`, the approval queue in `payouts list
--state WAITING_FOR_APPROVAL`, `approve` (refused for the requester) and `deny`."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from starter.api import PayoutRequest, Payouts
from starter.service.settings import Settings
from tests.contract.conftest import eventually
from tests.integration.cli_runner import run_payouts
from tests.integration.conftest import TRON, Stack
from tests.integration.policy_support import use_policy
from workflows.payout_models import SagaState

POLICY = """
    [default.approval]
    above = { USDT_TRX = "100" }
"""


async def test_queue_approve_and_deny_from_the_cli(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    use_policy(dev_stack, tmp_path, POLICY)
    key = str(uuid.uuid4())
    started = await run_payouts(
        dev_stack, dev_server, "pay", "--to", TRON, "--amount", "150", "--currency", "USDT_TRX",
        "--key", key, "--requested-by", "alice", "--json",
    )  # fmt: skip
    assert started.code == 0, started.err
    payouts = Payouts(dev_stack.client, Settings(task_queue=dev_stack.task_queue))
    other = await payouts.start(
        PayoutRequest(
            deposit_address=TRON, amount=Decimal(200), currency="USDT_TRX", requested_by="alice"
        )
    )

    async def queued() -> list[str] | None:
        listed = await run_payouts(
            dev_stack, dev_server, "list", "--state", "WAITING_FOR_APPROVAL", "--json"
        )
        keys = sorted(row["key"] for row in json.loads(listed.out))
        return keys if keys == sorted([key, str(other)]) else None

    await eventually(queued, deadline=90)

    own = await run_payouts(dev_stack, dev_server, "approve", key, "--by", "alice")
    assert own.code == 1
    assert own.err_lines == ["payouts: by: alice requested this payout and may not approve it"]
    approved = await run_payouts(
        dev_stack, dev_server, "approve", key, "--by", "bob", "--comment", "invoice 7", "--json"
    )
    assert approved.code == 0, approved.err
    assert json.loads(approved.out)["message"] == "approved"
    assert (await payouts.result(uuid.UUID(key))).state == SagaState.COMPLETED

    denied = await run_payouts(
        dev_stack, dev_server, "deny", str(other), "--by", "bob", "--reason", "duplicate"
    )
    assert denied.code == 0, denied.err
    result = await payouts.result(other)
    assert result.state == SagaState.REJECTED and result.reason == "denied by bob: duplicate"

    missing_reason = await run_payouts(dev_stack, dev_server, "deny", key, "--by", "bob")
    assert missing_reason.code == 2 and "--reason" in missing_reason.err
