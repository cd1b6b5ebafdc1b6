"""The two kinds of saga an idempotency key can name, and finding which one runs under a key."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

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
    status_query: Callable[..., Any]  # what `Payouts.status` asks it


SINGLE = SagaKind(
    "payout",
    single_payout_workflow_id,
    SinglePayoutWorkflow,
    PayoutResult,
    CancelResult,
    SinglePayoutWorkflow.status,
)
MASS = SagaKind(
    "mass payout",
    mass_payout_workflow_id,
    MassPayoutWorkflow,
    MassPayoutResult,
    MassCancelResult,
    MassPayoutWorkflow.progress,
)

Answer = TypeVar("Answer")


async def ask_saga(
    client: Client,
    key: uuid.UUID,
    ask: Callable[[SagaKind, WorkflowHandle[Any, Any]], Awaitable[Answer]],
) -> Answer:
    """`ask` of the saga under `key` (a payout is looked for first) through a handle that decodes
    its result; `PayoutNotFoundError` if there is none."""
    for kind in (SINGLE, MASS):
        handle = client.get_workflow_handle(kind.workflow_id(key), result_type=kind.result_type)
        try:
            return await ask(kind, handle)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
    raise PayoutNotFoundError(f"no payout saga with key {key}")


async def find_saga(client: Client, key: uuid.UUID) -> tuple[SagaKind, WorkflowHandle[Any, Any]]:
    """Which saga runs under `key`, with a handle that decodes its result."""

    async def described(
        kind: SagaKind, handle: WorkflowHandle[Any, Any]
    ) -> tuple[SagaKind, WorkflowHandle[Any, Any]]:
        await handle.describe()
        return kind, handle

    return await ask_saga(client, key, described)
