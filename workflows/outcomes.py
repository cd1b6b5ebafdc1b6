"""How a saga's end shows in Temporal: paid payouts complete, every other outcome fails.

The workflow list in the Temporal UI shows the execution status first. A payout that did not pay
(FAILED, REJECTED, CANCELED, or a mass payout only PARTIAL) therefore ends the workflow *failed*,
with a non-retryable, benign `ApplicationError` whose type names the outcome and whose details
carry the saga's full result; `starter/api/outcomes.py` turns it back into the result. The
recorded histories of older sagas ended *completed* whatever the outcome: `workflow.patched`
keeps them replaying on that path. A mass payout's deals always complete: their parent reads
their results. Deterministic: runs in workflows.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

with workflow.unsafe.imports_passed_through():
    from workflows import saga_paths
    from workflows.payout_models import SagaState

UNPAID_ENDS_FAILED = "unpaid-outcomes-fail-the-workflow"

# The failure type of each outcome that did not (fully) pay; operators filter on these.
FAILURE_TYPES = {
    SagaState.FAILED: "PayoutFailed",
    SagaState.REJECTED: "PayoutRejected",
    SagaState.CANCELED: "PayoutCanceled",
    SagaState.PARTIAL: "PayoutPartiallyPaid",
}

ResultT = TypeVar("ResultT", bound=BaseModel)


def ended(state: SagaState, reason: str | None, result: ResultT) -> ResultT:
    """Return `result` when the saga paid; raise it inside a workflow failure when it did not."""
    failure_type = FAILURE_TYPES.get(state)
    if failure_type is None or not saga_paths.taken(UNPAID_ENDS_FAILED):
        return result
    raise ApplicationError(
        f"{state}: {reason or 'no reason given'}",
        result,
        type=failure_type,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )
