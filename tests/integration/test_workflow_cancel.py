"""Canceling the workflow itself (Temporal UI / API) follows the same money rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError

from activities.ledger import EntryState
from tests.contract.conftest import eventually
from tests.integration.conftest import Stack
from workflows.payout_models import SagaState
from workflows.single_payout import SinglePayoutWorkflow


async def test_canceled_before_creation_releases_and_never_reaches_the_provider(
    dev_stack: Stack,
) -> None:
    # On the dev server: the time-skipping server may jump past the 7 days before we cancel.
    stack = dev_stack
    saga_input = stack.payout(execution_date=datetime.now(UTC) + timedelta(days=7))
    handle = await stack.start(saga_input)

    async def scheduled() -> bool:
        return (await handle.query(SinglePayoutWorkflow.status)).state == SagaState.SCHEDULED

    await eventually(scheduled)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    assert isinstance(caught.value.cause, CancelledError)
    entry = await stack.ledger.entry(str(saga_input.idempotency_key))
    assert entry is not None and entry.state == EntryState.RELEASED
    assert await stack.provider_payouts() == []
