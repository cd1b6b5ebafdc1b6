"""One deal of a mass payout: at most the provider's item limit, followed by its own workflow.

create exactly once → follow webhooks and polls → confirm the final state → read each item's
outcome from the withdrawals → resend only the failed items as a new deal (derived key) where
asked → settle paid items and release the rest in the ledger, item by item.
Workflow id `mass-deal-<deal key>`: the webhook receiver routes a deal's webhooks here.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.ledger import ReleaseRequest, SettleRequest
    from activities.mass_activities import (
        CreateDealInput,
        DealOutcomesInput,
        LedgerBatch,
        MassActivities,
    )
    from activities.payout_models import CancelProviderInput, FetchPayoutInput, ProviderPayout
    from workflows.activity_options import CALL
    from workflows.follower import ProviderFollower
    from workflows.keys import attempt_key, mass_deal_workflow_id
    from workflows.mass_models import (
        DealAttempt,
        DealCancelInput,
        DealInput,
        DealResult,
        ItemOutcome,
        ItemState,
        MassItem,
    )
    from workflows.payout_models import ProviderEvent, SagaState
    from workflows.saga_timeline import Timeline


def item_ledger_key(mass_key: UUID, index: int) -> str:
    return f"{mass_key}/item/{index}"


@workflow.defn(name="MassPayoutDeal")
class MassDealWorkflow:
    @workflow.init
    def __init__(self, deal: DealInput) -> None:
        self._deal = deal
        self._state = SagaState.RECEIVED
        self._timeline = Timeline()
        self._attempts: list[DealAttempt] = []
        self._outcomes: dict[int, ItemOutcome] = {}
        self._follower: ProviderFollower | None = None
        self._early: list[ProviderEvent] = []
        self._cancel_reason: str | None = None
        self._cancel_tried = False
        self._cancel_refused = False

    @workflow.run
    async def run(self, deal: DealInput) -> DealResult:
        pending = deal.items
        attempt = 0
        while pending:
            if self._cancel_reason is not None:
                self._end(pending, ItemState.CANCELED, self._cancel_reason)
                break
            try:
                final = await self._send_and_follow(pending, attempt)
            except ActivityError as error:
                # The provider refused the deal (e.g. over its item limit): nothing was paid.
                self._end(pending, ItemState.FAILED, f"provider refused the deal: {error.cause}")
                break
            if final.state == "CANCELED":
                self._end(pending, ItemState.CANCELED, final.cancel_message or "canceled")
                break
            outcomes = await workflow.execute_activity_method(
                MassActivities.read_deal_outcomes,
                DealOutcomesInput(provider_id=final.id, attempt=attempt, items=pending),
                **CALL,
            )
            failed = [o for o in outcomes.outcomes if o.state == ItemState.FAILED]
            for outcome in outcomes.outcomes:
                self._outcomes[outcome.index] = outcome
            retry = attempt < deal.resend.max_resends and self._cancel_reason is None
            if not failed or not retry:
                break
            self._timeline.add(
                "saga", "resend", None, f"{len(failed)} failed items, attempt {attempt + 1}"
            )
            self._state = SagaState.WAITING_TO_RESEND
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._cancel_reason is not None,
                    timeout=timedelta(seconds=deal.resend.delay_seconds),
                )
            failed_indexes = {o.index for o in failed}
            pending = [item for item in pending if item.index in failed_indexes]
            attempt += 1
        await self._settle_and_release()
        self._state = self._final_state()
        return self._result()

    @workflow.signal
    def provider_event(self, event: ProviderEvent) -> None:
        if self._follower is None or not self._follower.hint(event):
            self._early.append(event)  # before the create returned, or for a later attempt

    @workflow.signal
    def cancel(self, request: DealCancelInput) -> None:
        self._cancel_reason = self._cancel_reason or request.reason

    @workflow.query
    def status(self) -> DealResult:
        return self._result()

    async def _send_and_follow(self, items: list[MassItem], attempt: int) -> ProviderPayout:
        key = attempt_key(self._deal.deal_key, attempt)
        self._attempts.append(DealAttempt(number=attempt, provider_key=key, items=len(items)))
        self._state = SagaState.CREATING
        payout = await workflow.execute_activity_method(
            MassActivities.create_mass_deal,
            CreateDealInput(
                provider_key=key,
                currency=self._deal.currency,
                items=items,
                name=self._deal.name,
                comment=self._deal.comment,
            ),
            **CALL,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        follower = ProviderFollower(
            key,
            self._fetch,
            self._timeline,
            timedelta(seconds=self._deal.poll_interval_seconds),
        )
        follower.apply(payout, "api")
        self._follower, early, self._early = follower, self._early, []
        for event in early:
            if not follower.hint(event):
                self._timeline.add("webhook", event.type, event.status, "ignored: another attempt")
        self._attempts[-1].provider_id = payout.id
        self._state = SagaState.SUBMITTED
        self._cancel_tried = False
        while (final := await follower.follow(self._cancel_due)) is None:
            await self._cancel_at_provider(follower)
        self._attempts[-1].provider_state = final.state
        return final

    def _cancel_due(self) -> bool:
        return self._cancel_reason is not None and not self._cancel_tried

    async def _cancel_at_provider(self, follower: ProviderFollower) -> None:
        self._cancel_tried = True
        outcome = await workflow.execute_activity_method(
            MassActivities.cancel_mass_deal,
            CancelProviderInput(
                provider_id=follower.provider_id or "",
                provider_key=follower.provider_key,
                reason=self._cancel_reason or "canceled",
            ),
            **CALL,
        )
        self._timeline.add("api", "cancel", None, outcome.message)
        self._cancel_refused = not outcome.accepted
        if outcome.payout is not None:
            follower.apply(outcome.payout, "api")

    async def _fetch(self, key: UUID) -> ProviderPayout:
        return await workflow.execute_activity_method(
            MassActivities.fetch_mass_deal, FetchPayoutInput(provider_key=key), **CALL
        )

    def _end(self, items: list[MassItem], state: ItemState, reason: str) -> None:
        attempts = len(self._attempts)
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

    async def _settle_and_release(self) -> None:
        batch = LedgerBatch()
        for outcome in self._outcomes.values():
            key = item_ledger_key(self._deal.mass_key, outcome.index)
            if outcome.state == ItemState.COMPLETED:
                batch.settle.append(
                    SettleRequest(key=key, paid_amount=outcome.amount, fee=outcome.fee or 0)
                )
            else:
                batch.release.append(
                    ReleaseRequest(key=key, reason=outcome.reason or outcome.state)
                )
        try:
            await workflow.execute_activity_method(MassActivities.apply_ledger_batch, batch, **CALL)
        except ActivityError as error:
            # The outcomes stand (paid items were paid); the books need an operator's look.
            note = f"the ledger refused to settle or release: {error.cause}; reconcile it"
            self._timeline.add("saga", "ledger", None, note)

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
            state=self._state,
            attempts=self._attempts,
            outcomes=[self._outcomes[i] for i in sorted(self._outcomes)],
            cancel_refused=self._cancel_refused,
        )


__all__ = ["MassDealWorkflow", "item_ledger_key", "mass_deal_workflow_id"]
