"""What operators see first in the Temporal UI's list is the workflow's status: a payout that
paid completes; one that did not fails, with a type naming the outcome and the saga's result in
the failure, which the Python API reads back as the result."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from starter.api.outcomes import saga_result
from tests.contract.conftest import eventually
from tests.integration.conftest import TRON, Stack
from workflows.outcomes import FAILURE_TYPES
from workflows.payout_models import PayoutResult, SagaState


async def test_a_paid_payout_completes_its_workflow(stack: Stack) -> None:
    handle = await stack.start(stack.payout())
    result = await handle.result()  # a plain result: nothing to decode
    assert result.state == SagaState.COMPLETED
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


@pytest.mark.parametrize(
    ("overrides", "state"),
    [
        ({"deposit_address": TRON[:-4] + "fa11"}, SagaState.FAILED),
        ({"max_fee": Decimal("0.000001")}, SagaState.REJECTED),
    ],
    ids=["failed", "rejected"],
)
async def test_an_unpaid_payout_fails_its_workflow_and_carries_its_result(
    dev_stack: Stack, overrides: dict[str, object], state: SagaState
) -> None:
    stack = dev_stack  # the dev server: its visibility answers list queries
    handle = await stack.start(stack.payout(**overrides))
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == FAILURE_TYPES[state]
    assert cause.non_retryable
    assert cause.message.startswith(f"{state}: ")

    result = await saga_result(handle, PayoutResult)
    assert result.state == state and result.reason
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
    # Operators find them with the query the README's "not paid" saved view uses.
    query = f"WorkflowId = '{handle.id}' AND ExecutionStatus = 'Failed' AND PayoutState = '{state}'"

    async def listed() -> list[str] | None:
        found = [execution.id async for execution in stack.client.list_workflows(query)]
        return found or None

    assert await eventually(listed, deadline=30) == [handle.id]
