"""Starting a saga exactly once per business key, and noticing a key reused for another payout."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

FINGERPRINT = "requestFingerprint"


class KeyReusedError(ValueError):
    """Raised when an idempotency key already belongs to a different payout."""


async def start_idempotently(
    client: Client,
    workflow: str,
    arg: BaseModel,
    *,
    workflow_id: str,
    task_queue: str,
    fingerprint: str,
    summary: str,
) -> None:
    """Start `workflow` once per id; a second start with the same content is a no-op, with
    different content a `KeyReusedError` (the key is taken by another payout)."""
    try:
        handle: WorkflowHandle[Any, Any] = await client.start_workflow(
            workflow,
            arg,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={FINGERPRINT: fingerprint},
            static_summary=summary,
        )
    except WorkflowAlreadyStartedError:  # it ran before and is closed
        handle = client.get_workflow_handle(workflow_id)
    memo = await (await handle.describe()).memo()
    if memo.get(FINGERPRINT) != fingerprint:
        raise KeyReusedError(f"{workflow_id}: the key is already used by a different payout")


def fingerprint(saga_input: BaseModel, *, exclude: set[str]) -> str:
    """What makes two requests the same payout (operational knobs excluded)."""
    canonical = saga_input.model_dump_json(exclude=exclude)
    return hashlib.sha256(canonical.encode()).hexdigest()
