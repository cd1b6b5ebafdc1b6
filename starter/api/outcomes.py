"""A saga's result, whether the workflow completed (paid) or failed (not paid).

A saga that did not pay ends its workflow failed, with the result in the failure's details
(`workflows/outcomes.py`), so that the Temporal UI's list tells paid from not paid. Callers of
the Python API still get the result model either way; any other failure is raised as it is.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from workflows.outcomes import FAILURE_TYPES

ResultT = TypeVar("ResultT", bound=BaseModel)
_OUTCOME_TYPES = frozenset(FAILURE_TYPES.values())


async def saga_result(handle: WorkflowHandle[Any, Any], result_type: type[ResultT]) -> ResultT:
    """Wait for the saga behind `handle` to end and return its result model."""
    try:
        result = await handle.result()
    except WorkflowFailureError as failure:
        cause = failure.cause
        if isinstance(cause, ApplicationError) and cause.type in _OUTCOME_TYPES and cause.details:
            return result_type.model_validate(cause.details[0])
        raise
    return result_type.model_validate(result) if not isinstance(result, result_type) else result
