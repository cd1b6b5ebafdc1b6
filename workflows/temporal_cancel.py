"""A single payout canceled through Temporal (the UI's cancel button, or the API) instead of the
saga's `cancel` update: the same money rules apply.

Nothing at the provider → release. Something there → ask the provider to cancel and release only
if it agrees; a payout already on its way keeps its reservation, and the timeline says so, for an
operator to reconcile; a payout the provider has paid is settled. The workflow then ends
canceled. Deterministic: runs in workflows.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from calypso.models import FINAL_PAYOUT_STATES, PayoutState
    from workflows.ledger_steps import PayoutLedger
    from workflows.payout_models import PayoutInput, SagaState
    from workflows.provider_attempts import ProviderAttempts
    from workflows.saga_record import SagaRecord

REASON = "workflow canceled in Temporal"


async def canceled_in_temporal(
    attempts: ProviderAttempts, ledger: PayoutLedger, record: SagaRecord, request: PayoutInput
) -> None:
    payout = None
    if attempts.current is not None:
        try:
            payout = await attempts.fetch_current()
        except ActivityError:
            payout = None  # the create never reached the provider
    if payout is not None and payout.state == PayoutState.COMPLETED:
        note = await ledger.settle(request.amount, payout.fee)
        await record.finish(SagaState.COMPLETED, note or REASON)
        return
    if payout is not None and payout.state not in FINAL_PAYOUT_STATES:
        outcome = await attempts.cancel_at_provider(REASON)
        if not outcome.accepted:
            record.timeline.add("saga", "canceled", None, f"{outcome.message}; reservation kept")
            return
    await ledger.release(REASON)
    await record.finish(SagaState.CANCELED, REASON)
