"""Policy files for the controls tests: written to the test's directory and put in force on the
stack's worker (the worker re-reads the file, as in production)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle

from activities.policy import Policy
from starter.api.approvals import decide
from tests.integration.conftest import Stack, saga_status
from workflows.approval_models import ApprovalResult, ApproveInput, DenyInput
from workflows.payout_models import PayoutStatus, SagaState


def use_policy(stack: Stack, directory: Path, text: str, name: str = "policy.toml") -> Policy:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    stack.activities.policy.use(path)
    return stack.activities.policy.current()


def waiting_for_approval(status: PayoutStatus) -> bool:
    return status.state == SagaState.WAITING_FOR_APPROVAL


async def approve(stack: Stack, handle: WorkflowHandle[Any, Any], by: str) -> ApprovalResult:
    status = await saga_status(handle)
    return await decide(stack.client, status.key, ApproveInput(by=by, comment="looks right"))


async def deny(
    stack: Stack, handle: WorkflowHandle[Any, Any], by: str, reason: str
) -> ApprovalResult:
    status = await saga_status(handle)
    return await decide(stack.client, status.key, DenyInput(by=by, reason=reason))
