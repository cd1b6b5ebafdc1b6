"""The demo's operator controls: a policy that asks a person to approve every payout from the
`approvals` sub-account; one payout waits for it, is approved by someone other than its requester
and is paid."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from pathlib import Path

from activities.ledger import SqliteLedger
from starter.api.payouts import PayoutRequest, Payouts
from starter.cli.output import console, print_status
from starter.local.demo_mass import expect
from starter.local.local_stack import LocalStack
from workflows.approval_models import ApproveInput
from workflows.keys import single_payout_workflow_id
from workflows.payout_models import SagaState

APPROVALS_ACCOUNT = "approvals"
DEMO_POLICY = f"""\
version = "demo-1"

[accounts.{APPROVALS_ACCOUNT}.approval]
always = true
expires_after_hours = 1
"""


def write_demo_policy(home: Path) -> Path:
    path = home / "policy.toml"
    path.write_text(DEMO_POLICY)
    return path


async def run_approval_demo(
    stack: LocalStack, payouts: Payouts, ledger: SqliteLedger | None, request: PayoutRequest
) -> uuid.UUID:
    if ledger is not None:
        await ledger.fund(APPROVALS_ACCOUNT, request.currency, Decimal(100))
    key = await payouts.start(
        request.model_copy(
            update={
                "ledger_account": APPROVALS_ACCOUNT,
                "requested_by": "alice",
                "comment": "demo: waits for approval",
            }
        )
    )
    while (status := await payouts.status(key)).state != SagaState.WAITING_FOR_APPROVAL:
        await asyncio.sleep(0.1)
    console.rule("4. four eyes: the policy asks a person to approve")
    print_status(status)
    decided = await payouts.approve(key, ApproveInput(by="bob", comment="checked the invoice"))
    console.print(f"approve --by bob: {decided.message}")
    result = await payouts.result(key)
    print_status(await payouts.status(key))
    console.print(f"Temporal UI: {stack.workflow_url(single_payout_workflow_id(key))}\n")
    expect(result.state == SagaState.COMPLETED, f"approved payout ended {result.state}")
    return key
