"""One deal of a mass payout: at most the provider's item limit, followed by its own workflow.

create exactly once → follow webhooks and polls → confirm the final state → read each item's
outcome from the withdrawals → resend only the failed items as a new attempt (derived key) where
asked → settle paid items and release the rest in the ledger, item by item.
The provider attempts (`provider_attempts.py`) are the same object the single payout uses.
An item the provider reports in no terms we know is held for review (`deal_items.py`): re-read
on a backoff until known, or decided by an operator (`resolve`); the parent is told.
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
    from workflows import saga_paths
    from workflows.activity_options import LOCAL_STEPS_PATCH, step
    from workflows.deal_items import DealItems
    from workflows.keys import DEAL_REVIEW_SIGNAL, PROVIDER_EVENT_SIGNAL
    from workflows.ledger_steps import ItemLedger
    from workflows.mass_models import (
        DealCancelInput,
        DealInput,
        DealResult,
        DealReview,
        ItemState,
        MassItem,
    )
    from workflows.payout_models import ProviderEvent, ResolveInput, ResolveResult, SagaState
    from workflows.provider_attempts import ProviderAttempts
    from workflows.provider_review import REVIEW_RECHECK_FIRST, REVIEW_RECHECK_MAX
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
            timedelta(seconds=deal.confirmation_wait_seconds),
        )
        self._ledger = ItemLedger(deal.mass_key, self._record.timeline)
        self._items = DealItems(deal.items)
        self._cancel_reason: str | None = None
        self._cancel_tried = False
        self._cancel_refused = False
        self._parent_told: str | None = None  # the review note the parent last heard
        self._local_reads = False

    @workflow.run
    async def run(self, deal: DealInput) -> DealResult:
        # Deals from here on read their withdrawals and book their items as local activities
        # (docs/architecture.md).
        saga_paths.begin()
        self._ledger.local = self._local_reads = saga_paths.taken(LOCAL_STEPS_PATCH)
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
            failed_items = [item for item in pending if item.index in failed]
            pending = await self._items.certainly_unpaid(
                failed_items, self._deal.currency, self._attempts.attempts
            )
        await self._ledger.settle_and_release(self._items.to_book())
        if self._items.with_state(ItemState.NEEDS_REVIEW):
            await self._hold_for_review()
        self._record.set_state(self._items.final_state(), None)
        return self._result()

    @workflow.signal(name=PROVIDER_EVENT_SIGNAL)
    def provider_event(self, event: ProviderEvent) -> None:
        """A webhook from the receiver: only a hint, which the provider attempts weigh."""
        self._attempts.hint(event)

    @workflow.signal
    def cancel(self, request: DealCancelInput) -> None:
        self._cancel_reason = self._cancel_reason or request.reason

    @workflow.update
    def resolve(self, decision: ResolveInput) -> ResolveResult:
        """An operator's decision on an item held for review: paid (settle) or failed (release)."""
        assert decision.item is not None  # the validator made sure
        self._items.decisions[decision.item] = decision
        note = f"item {decision.item}: {decision.outcome} by {decision.by}: {decision.reason}"
        self._record.timeline.add("operator", "resolve", None, note)
        return ResolveResult(accepted=True, state=self._record.state, message=note)

    @resolve.validator
    def _validate_resolve(self, decision: ResolveInput) -> None:
        self._items.check_decision(decision)

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
        while (final := await self._attempts.follow(self._interrupt)) is None:
            await self._tell_parent()
            if self._cancel_due():
                self._cancel_tried = True
                reason = self._cancel_reason or "canceled"
                try:
                    outcome = await self._attempts.cancel_at_provider(reason)
                except ActivityError as error:  # the deal may be live: follow it, never release
                    note = f"cancel failed: {error.cause or error}; following the deal to its end"
                    self._record.timeline.add("api", "cancel", None, note)
                    self._cancel_refused = True
                    continue
                self._cancel_refused = not outcome.accepted
        return final

    def _interrupt(self) -> bool:
        return self._cancel_due() or self._review_news()

    def _cancel_due(self) -> bool:
        return self._cancel_reason is not None and not self._cancel_tried

    def _review_note(self) -> str | None:
        return self._record.detail if self._record.state == SagaState.NEEDS_REVIEW else None

    def _review_news(self) -> bool:
        """Whether the parent has yet to hear that this deal waits for review, or no longer does."""
        return self._review_note() != self._parent_told

    async def _tell_parent(self) -> None:
        """Tell the mass payout that this deal waits for review (or no longer does), so that the
        operator sees it where they look: the mass payout's state and callbacks."""
        if not self._review_news():
            return
        self._parent_told = self._review_note()
        parent = workflow.info().parent
        if parent is None:
            return
        review = DealReview(deal_index=self._deal.deal_index, note=self._parent_told)
        handle = workflow.get_external_workflow_handle(parent.workflow_id)
        try:
            await handle.signal(DEAL_REVIEW_SIGNAL, review)
        except Exception as error:  # the parent has gone: the deal still ends on its own
            self._record.timeline.add("saga", "review", None, f"parent not told: {error}")

    async def _read_outcomes(self, final: ProviderPayout, items: list[MassItem]) -> set[int]:
        """Each item's outcome from the provider's withdrawals; the indexes of failed items."""
        outcomes = await step(
            MassActivities.read_deal_outcomes,
            DealOutcomesInput(
                provider_id=final.id,
                attempt=len(self._attempts.attempts) - 1,
                items=items,
                deal_state=final.state,
            ),
            local=self._local_reads,
        )
        self._items.record(outcomes.outcomes)
        return {o.index for o in outcomes.outcomes if o.state == ItemState.FAILED}

    async def _wait_to_resend(self, failed: int) -> None:
        note = f"{failed} failed items, attempt {len(self._attempts.attempts)}"
        self._record.set_state(SagaState.WAITING_TO_RESEND, note)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._cancel_reason is not None,
                timeout=timedelta(seconds=self._deal.resend.delay_seconds),
            )

    async def _hold_for_review(self) -> None:
        """Items the provider has not settled in terms we know: re-read on a backoff until it
        does, or until an operator decides; each is booked in the ledger as soon as it is known."""
        pause = REVIEW_RECHECK_FIRST
        while held := self._items.with_state(ItemState.NEEDS_REVIEW):
            note = f"{len(held)} items held for review: {held[0].reason}"
            if self._record.detail != note or self._record.state != SagaState.NEEDS_REVIEW:
                self._record.set_state(SagaState.NEEDS_REVIEW, note)
            await self._tell_parent()
            waiting = {outcome.index for outcome in held}
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: bool(waiting & self._items.decisions.keys()),  # noqa: B023
                    timeout=pause,
                )
            self._items.apply_decisions()
            await self._items.reread_held(self._attempts.attempts)
            await self._ledger.settle_and_release(self._items.to_book())
            pause = min(pause * 2, REVIEW_RECHECK_MAX)
        self._record.set_state(SagaState.SUBMITTED, "every held item is known now")
        await self._tell_parent()

    def _end(self, items: list[MassItem], state: ItemState, reason: str) -> None:
        self._items.end(items, state, reason, len(self._attempts.attempts))

    def _result(self) -> DealResult:
        outcomes = self._items.outcomes
        return DealResult(
            deal_index=self._deal.deal_index,
            state=self._record.state,
            attempts=self._attempts.attempts,
            outcomes=[outcomes[i] for i in sorted(outcomes)],
            cancel_refused=self._cancel_refused,
        )

    def _details(self) -> str:
        deal, state = self._deal, self._record.state
        ended = len(self._items.outcomes)
        return f"Deal {deal.deal_index}: {len(deal.items)} items, {ended} ended, {state}"
