"""Errors of the Python API about a saga as a whole: not there, or already over."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from starter.api.outcomes import saga_result
from workflows.payout_models import SagaState


class PayoutNotFoundError(LookupError):
    """Raised when no saga, single or mass, runs under a key."""


class PayoutEndedError(RuntimeError):
    """Raised when an operation needs a running saga and this one has ended."""


async def ended_state(
    handle: WorkflowHandle[Any, Any], error: RPCError, result_type: type[BaseModel]
) -> SagaState:
    """After an update was refused by the server: the saga's final state if it has ended.

    The server answers NOT_FOUND both for no such workflow and for a closed one; anything else,
    or a saga that is not there at all, is raised as it is.
    """
    if error.status != RPCStatusCode.NOT_FOUND:
        raise error
    try:
        result = await saga_result(handle, result_type)
    except RPCError as missing:
        raise PayoutNotFoundError(f"no payout saga {handle.id}") from missing
    state: SagaState = getattr(result, "state")  # noqa: B009 - every saga result has a state
    return state
