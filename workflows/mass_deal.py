"""One deal of a mass payout: at most the provider's item limit, followed by its own workflow.

create exactly once → follow webhooks and polls → confirm the final state → read each item's
outcome from the withdrawals → resend only the failed items as a new attempt (derived key) where
asked → settle paid items and release the rest in the ledger, item by item.
The provider attempts (`provider_attempts.py`) are the same object the single payout uses.
Workflow id `mass-deal-<deal key>`: the webhook receiver routes a deal's webhooks here.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.mass_activities import CreateDealInput, DealOutcomesInput, MassActivities
    from activities.payout_models import ProviderPayout
    from activities.provider_endpoints import MASS_DEAL
    from calypso.models import PayoutState
    from workflows.activity_options import CALL
    from workflows.keys import PROVIDER_EVENT_SIGNAL
    from workflows.ledger_steps import ItemLedger
    from workflows.mass_models import (
        DealCancelInput,
        DealInput,
        DealResult,
        ItemOutcome,
        ItemState,
        MassItem,
    )
    from workflows.payout_models import ProviderEvent, SagaState
    from workflows.provider_attempts import ProviderAttempts
    from workflows.saga_record import SagaRecord


@workflow.defn(name="MassPayoutDeal")
class MassDealWorkflow:
    @workflow.init
    def __init__(self, deal: DealInput) -> None:
        self._deal = deal
        # The parent mass payout publishes search attributes and callbacks for the whole list.
        self._record = SagaRecord(describe=self._details, publish=False)
        self._attempts = ProviderAttempts(
            MASS_DEAL,
            deal.deal_key,
            self._record,
            timedelta(seconds=deal.poll_interval_seconds),
        )
        self._ledger = ItemLedger(deal.mass_key, self._record.timeline)
        self._outcomes: dict[int, ItemOutcome] = {}
        self._cancel_reason: str | None = None
        self._cancel_tried = False
        self._cancel_refused = False

    @workflow.run
    async def run(self, deal: DealInput) -> DealResult:
        pending = deal.items
        while pending:
            if self._cancel_reason is not None:
                self._end(pending, ItemState.CANCELED, self._cancel_reason)
                break
            try:
                final = await self._send_and_follow(pending)
            except ActivityError as error:
                # The provider refused the deal (e.g. over its item limit): nothing was paid.
                self._end(pending, ItemState.FAILED, f"provider refused the deal: {error.cause}")
                break
            if final.state == PayoutState.CANCELED:
                self._end(pending, ItemState.CANCELED, final.cancel_message or "canceled")
                break
            failed = await self._read_outcomes(final, pending)
            resends_left = len(self._attempts.attempts) <= deal.resend.max_resends
            if not failed or not resends_left or self._cancel_reason is not None:
                break
            await self._wait_to_resend(len(failed))
            pending = [item for item in pending if item.index in failed]
        await self._ledger.settle_and_release(self._outcomes.values())
        self._record.set_state(self._final_state(), None)
        return self._result()

    @workflow.signal(name=PROVIDER_EVENT_SIGNAL)
    def provider_event(self, event: ProviderEvent) -> None:
        """A webhook from the receiver: only a hint, which the provider attempts weigh."""
        self._attempts.hint(event)

    @workflow.signal
    def cancel(self, request: DealCancelInput) -> None:
        self._cancel_reason = self._cancel_reason or request.reason

    @workflow.query
    def status(self) -> DealResult:
        return self._result()

    async def _send_and_follow(self, items: list[MassItem]) -> ProviderPayout:
        await self._attempts.create(
            CreateDealInput(
                provider_key=self._attempts.next_key,
                currency=self._deal.currency,
                items=items,
                name=self._deal.name,
                comment=self._deal.comment,
            ),
            items=len(items),
        )
        self._cancel_tried = False
        while (final := await self._attempts.follow(self._cancel_due)) is None:
            self._cancel_tried = True
            outcome = await self._attempts.cancel_at_provider(self._cancel_reason or "canceled")
            self._cancel_refused = not outcome.accepted
        return final

    def _cancel_due(self) -> bool:
        return self._cancel_reason is not None and not self._cancel_tried

    async def _read_outcomes(self, final: ProviderPayout, items: list[MassItem]) -> set[int]:
        """Each item's outcome from the provider's withdrawals; the indexes of failed items."""
        outcomes = await workflow.execute_activity_method(
            MassActivities.read_deal_outcomes,
            DealOutcomesInput(
                provider_id=final.id, attempt=len(self._attempts.attempts) - 1, items=items
            ),
            **CALL,
        )
        for outcome in outcomes.outcomes:
            self._outcomes[outcome.index] = outcome
        return {o.index for o in outcomes.outcomes if o.state == ItemState.FAILED}

    async def _wait_to_resend(self, failed: int) -> None:
        note = f"{failed} failed items, attempt {len(self._attempts.attempts)}"
        self._record.set_state(SagaState.WAITING_TO_RESEND, note)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._cancel_reason is not None,
                timeout=timedelta(seconds=self._deal.resend.delay_seconds),
            )

    def _end(self, items: list[MassItem], state: ItemState, reason: str) -> None:
        attempts = len(self._attempts.attempts)
        for item in items:
            self._outcomes[item.index] = ItemOutcome(
                index=item.index,
                address=item.address,
                amount=item.amount,
                reference=item.reference,
                state=state,
                reason=reason,
                attempts=attempts,
            )

    def _final_state(self) -> SagaState:
        states = {outcome.state for outcome in self._outcomes.values()}
        if states == {ItemState.COMPLETED}:
            return SagaState.COMPLETED
        if ItemState.COMPLETED in states:
            return SagaState.PARTIAL
        return SagaState.CANCELED if states == {ItemState.CANCELED} else SagaState.FAILED

    def _result(self) -> DealResult:
        return DealResult(
            deal_index=self._deal.deal_index,
            state=self._record.state,
            attempts=self._attempts.attempts,
            outcomes=[self._outcomes[i] for i in sorted(self._outcomes)],
            cancel_refused=self._cancel_refused,
        )

    def _details(self) -> str:
        deal, state = self._deal, self._record.state
        return (
            f"Deal {deal.deal_index}: {len(deal.items)} items, {len(self._outcomes)} ended, {state}"
        )
