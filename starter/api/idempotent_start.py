"""Starting a saga exactly once per business key, and noticing a key reused for another payout."""

from __future__ import annotations

import hashlib
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from workflows.mass_models import MassPayoutInput
from workflows.payout_models import PayoutInput, SagaKnobs

FINGERPRINT = "requestFingerprint"


class KeyReusedError(ValueError):
    """Raised when an idempotency key already belongs to a different payout."""


async def start_idempotently(
    client: Client,
    workflow: str,
    saga_input: PayoutInput | MassPayoutInput,
    *,
    workflow_id: str,
    task_queue: str,
    summary: str,
) -> None:
    """Start `workflow` once per id; a second start with the same request is a no-op, with
    another request a `KeyReusedError` (the key is taken by another payout)."""
    expected = fingerprint(saga_input)
    try:
        handle: WorkflowHandle[Any, Any] = await client.start_workflow(
            workflow,
            saga_input,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={FINGERPRINT: expected},
            static_summary=summary,
        )
    except WorkflowAlreadyStartedError:  # it ran before and is closed
        handle = client.get_workflow_handle(workflow_id)
    memo = await (await handle.describe()).memo()
    if memo.get(FINGERPRINT) != expected:
        raise KeyReusedError(f"{workflow_id}: the key is already used by a different payout")


def fingerprint(saga_input: PayoutInput | MassPayoutInput) -> str:
    """What makes two starts the same payout: the input without the knobs (`SagaKnobs`), i.e.
    the request as given with its key. (A mass input's `resume` is always None at a start.)

    Running sagas keep this value in their memo, so it must not change for the same request:
    the JSON follows the models' field order, and a new field changes it unless excluded here.
    """
    canonical = saga_input.model_dump_json(exclude=set(SagaKnobs.model_fields))
    return hashlib.sha256(canonical.encode()).hexdigest()
