"""Policy files for the controls tests: written to the test's directory and put in force on the
stack's worker (the worker re-reads the file, as in production)."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle

from activities.policy import Policy
from starter.api.approvals import decide
from tests.integration.conftest import Stack
from workflows.approval_models import ApprovalResult, ApproveInput, DenyInput
from workflows.payout_models import PayoutStatus, SagaState


def use_policy(stack: Stack, directory: Path, text: str, name: str = "policy.toml") -> Policy:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    stack.activities.policy.use(path)
    return stack.activities.policy.current()


def waiting_for_approval(status: PayoutStatus) -> bool:
    return status.state == SagaState.WAITING_FOR_APPROVAL


def key_of(handle: WorkflowHandle[Any, Any]) -> uuid.UUID:
    """The payout key of a saga's handle (`payout-<key>` or `mass-payout-<key>`)."""
    return uuid.UUID(handle.id.rsplit("payout-", 1)[1])


async def approve(stack: Stack, handle: WorkflowHandle[Any, Any], by: str) -> ApprovalResult:
    return await decide(stack.client, key_of(handle), ApproveInput(by=by, comment="looks right"))


async def deny(
    stack: Stack, handle: WorkflowHandle[Any, Any], by: str, reason: str
) -> ApprovalResult:
    return await decide(stack.client, key_of(handle), DenyInput(by=by, reason=reason))
