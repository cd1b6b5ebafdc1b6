"""The two kinds of saga an idempotency key can name, and finding which one runs under a key."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from starter.api.errors import PayoutNotFoundError
from workflows.keys import mass_payout_workflow_id, single_payout_workflow_id
from workflows.mass_models import MassCancelResult, MassPayoutResult
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import CancelResult, PayoutResult
from workflows.single_payout import SinglePayoutWorkflow


@dataclass(frozen=True)
class SagaKind:
    noun: str  # how messages name it
    workflow_id: Callable[[uuid.UUID], str]
    workflow: type[SinglePayoutWorkflow] | type[MassPayoutWorkflow]
    result_type: type[PayoutResult] | type[MassPayoutResult]
    cancel_result: type[CancelResult] | type[MassCancelResult]


SINGLE = SagaKind(
    "payout", single_payout_workflow_id, SinglePayoutWorkflow, PayoutResult, CancelResult
)
MASS = SagaKind(
    "mass payout", mass_payout_workflow_id, MassPayoutWorkflow, MassPayoutResult, MassCancelResult
)


async def find_saga(client: Client, key: uuid.UUID) -> tuple[SagaKind, WorkflowHandle[Any, Any]]:
    """Which saga runs under `key` (a payout is looked for first), with a handle that decodes its
    result; `PayoutNotFoundError` if there is none."""
    for kind in (SINGLE, MASS):
        handle = client.get_workflow_handle(kind.workflow_id(key), result_type=kind.result_type)
        try:
            await handle.describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            continue
        return kind, handle
    raise PayoutNotFoundError(f"no payout saga with key {key}")
