"""The mass payout saga: a list of recipients to a per-recipient outcome.

validate every item → reserve every item in the ledger → wait for the execution date → check the
balance for the total plus every item's fee → split into provider-sized deals, each followed by its
own child workflow (`mass_deal.py`), a bounded number at a time (`mass_deal_runner.py`) →
aggregate (`mass_tally.py`). `cancel` stops deals not yet sent and asks running ones to cancel;
`progress` is the query. The record and the schedule are the same objects the single payout uses.
Workflow id `mass-payout-<idempotencyKey>`.
"""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.callbacks import CallbackEvent
    from activities.mass_activities import MassActivities, MassFundsInput
    from activities.payout_models import FundsCheck
    from calypso.currencies import check_execution_date, check_payment
    from workflows import saga_paths
    from workflows.activity_options import CALL
    from workflows.approval_models import ApprovalResult, ApproveInput, DenyInput
    from workflows.execution_schedule import ExecutionSchedule
    from workflows.keys import DEAL_REVIEW_SIGNAL
    from workflows.ledger_steps import ItemLedger
    from workflows.mass_controls import admit_list
    from workflows.mass_deal_runner import DealRunner, plan_deals
    from workflows.mass_models import (
        DealReview,
        ItemState,
        MassCancelResult,
        MassPayoutInput,
        MassPayoutResult,
        MassProgress,
    )
    from workflows.mass_tally import MassTally
    from workflows.merchant_notices import undelivered_callbacks
    from workflows.outcomes import ended
    from workflows.payout_controls import CONTROLS_PATCH, PayoutControls
    from workflows.payout_models import (
        FINAL_SAGA_STATES,
        CancelInput,
        RescheduleInput,
        RescheduleResult,
        SagaState,
    )
    from workflows.saga_record import SagaEnded, SagaRecord
    from workflows.saga_timeline import Timeline

MAX_PROBLEMS_SHOWN = 20
TIMELINE_CARRIED = 50  # timeline entries a continued run keeps from the one before


@workflow.defn(name="MassPayout")
class MassPayoutWorkflow:
    @workflow.init
    def __init__(self, request: MassPayoutInput) -> None:
        self._request = request
        resume = request.resume  # set when a run continued as new: carry on where it stopped
        self._tally = (
            MassTally.resumed(resume)
            if resume
            else MassTally(plan_deals(request), len(request.recipients))
        )
        self._record = SagaRecord(
            describe=self._details,
            callback_for=self._callback if request.notify_merchant else None,
            state=SagaState.PAYING if resume else SagaState.RECEIVED,
            timeline=Timeline(entries=resume.timeline) if resume else None,
        )
        self._schedule = ExecutionSchedule(self._record, request.execution_date)
        ledger = ItemLedger(request.idempotency_key, self._record.timeline)
        self._ledger = ledger
        self._deals = DealRunner(request, self._record, self._schedule, self._tally, ledger)
        self._controls = PayoutControls(
            "mass",
            str(request.idempotency_key),
            self._record,
            self._schedule,
            request.requested_by,
        )

    @workflow.run
    async def run(self, request: MassPayoutInput) -> MassPayoutResult:
        saga_paths.begin()  # every run, a resumed one too: first, before any older patch
        if request.resume is not None:
            return await self._pay_and_finish()
        _check(request)
        self._record.started("mass", request.currency, request.external_id, request.execution_date)
        plan = f"{len(request.recipients)} recipients in {len(self._tally.deals)} deals"
        self._record.set_state(SagaState.RECEIVED, plan)
        try:
            if saga_paths.taken(CONTROLS_PATCH):
                await admit_list(request, self._controls, self._ledger, self._tally)
            else:
                await self._ledger.reserve(
                    request.ledger_account, request.currency, request.recipients
                )
            await self._schedule.wait_until_due()
            await self._schedule.wait_for_funds(
                self._check_funds, request.funds_wait_seconds, request.currency
            )
            self._schedule.raise_if_canceled()
        except SagaEnded as ended:
            pending = self._tally.pending_deals
            await self._deals.end_unpaid(pending, ItemState.CANCELED, ended.reason)
            return await self._finish(ended.state, ended.reason)
        return await self._pay_and_finish()

    async def _pay_and_finish(self) -> MassPayoutResult:
        if not await self._deals.run():
            # This run has done its share of deals: the next one carries on with the tallies.
            resume = self._tally.resume(self._record.timeline.entries[-TIMELINE_CARRIED:])
            workflow.continue_as_new(self._request.model_copy(update={"resume": resume}))
        if self._schedule.cancel_reason is not None:
            return await self._finish(SagaState.CANCELED, self._schedule.cancel_reason)
        completed = self._tally.counts[ItemState.COMPLETED]
        everyone = len(self._request.recipients)
        state = SagaState.COMPLETED if completed == everyone else SagaState.PARTIAL
        return await self._finish(state if completed else SagaState.FAILED, self._refused_note())

    def _refused_note(self) -> str | None:
        refused = len(self._tally.refused)
        return f"{refused} items refused by the policy or its screening" if refused else None

    # --- query and updates ------------------------------------------------------------------------

    @workflow.signal(name=DEAL_REVIEW_SIGNAL)
    def deal_review(self, review: DealReview) -> None:
        """A deal waits for review (or no longer does): the operator sees it here, where they
        look — this saga's state, its search attribute and its callbacks."""
        deal = self._tally.deals[review.deal_index]
        if review.note is not None:
            deal.state = SagaState.NEEDS_REVIEW
            self._record.set_state(SagaState.NEEDS_REVIEW, f"deal {deal.index}: {review.note}")
            return
        deal.state = "RUNNING"
        held = [d for d in self._tally.deals if d.state == SagaState.NEEDS_REVIEW]
        if not held and self._record.state == SagaState.NEEDS_REVIEW:
            self._record.set_state(
                SagaState.PAYING, f"deal {deal.index} no longer waits for review"
            )

    @workflow.query
    def progress(self) -> MassProgress:
        tally = self._tally
        return MassProgress(
            key=self._request.idempotency_key,
            state=self._record.state,
            currency=self._request.currency,
            items=len(self._request.recipients),
            total=self._total,
            counts=dict(tally.counts),
            paid=tally.amounts["paid"],
            failed=tally.amounts["failed"],
            released=tally.amounts["released"],
            fees=tally.amounts["fees"],
            provider_deals_sent=tally.sent,
            deals=tally.deals,
            reason=self._record.reason,
            execution_date=self._schedule.execution_date,
            timeline=self._record.timeline.entries,
            undelivered_callbacks=undelivered_callbacks(self._record.timeline.entries),
            policy_version=self._controls.policy_version,
            requested_by=self._request.requested_by,
            approval=self._controls.approval_status,
        )

    @workflow.update
    async def cancel(self, request: CancelInput) -> MassCancelResult:
        state = self._record.state
        if state in FINAL_SAGA_STATES:
            return MassCancelResult(accepted=False, state=state, message=f"already {state}")
        self._schedule.request_cancel(request.reason)
        self._record.timeline.add("operator", "cancel", None, request.reason)
        await workflow.wait_condition(lambda: self._record.state in FINAL_SAGA_STATES)
        refused = len(self._tally.not_cancelable)
        return MassCancelResult(
            accepted=True,
            state=self._record.state,
            message=f"canceled; {refused} items were already on their way"
            if refused
            else "canceled",
            not_cancelable=self._tally.not_cancelable,
        )

    @workflow.update
    def approve(self, decision: ApproveInput) -> ApprovalResult:
        return self._controls.approval.approve(decision)

    @approve.validator
    def _validate_approve(self, decision: ApproveInput) -> None:
        self._controls.approval.check_approve(decision)

    @workflow.update
    def deny(self, decision: DenyInput) -> ApprovalResult:
        return self._controls.approval.deny(decision)

    @deny.validator
    def _validate_deny(self, decision: DenyInput) -> None:
        self._controls.approval.check_deny(decision)

    @workflow.update
    def reschedule(self, request: RescheduleInput) -> RescheduleResult:
        return self._schedule.reschedule(request)

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleInput) -> None:
        self._schedule.check_reschedule(request)

    # --- steps ------------------------------------------------------------------------------------

    async def _check_funds(self) -> FundsCheck:
        return await workflow.execute_activity_method(
            MassActivities.check_mass_funds,
            MassFundsInput(
                currency=self._request.currency,
                amounts=[
                    amount
                    for index, amount in enumerate(self._request.recipients.amounts)
                    if index not in self._tally.refused
                ],
            ),
            **CALL,
        )

    async def _finish(self, state: SagaState, reason: str | None) -> MassPayoutResult:
        """The saga's last step: a list paid in full completes the workflow, any other end
        fails it (the result travels in the failure)."""
        await self._record.finish(state, reason)
        tally = self._tally
        result = MassPayoutResult(
            key=self._request.idempotency_key,
            state=state,
            reason=reason,
            counts=dict(tally.counts),
            paid=tally.amounts["paid"],
            released=tally.amounts["released"],
            fees=tally.amounts["fees"],
            deals=tally.deals,
            not_cancelable=tally.not_cancelable,
        )
        return ended(state, reason, result)

    # --- what the UI and the merchant see ---------------------------------------------------------

    @property
    def _total(self) -> Decimal:
        return sum(self._request.recipients.amounts, Decimal(0))

    def _details(self) -> str:
        counts, items = self._tally.counts, len(self._request.recipients)
        return (
            f"Pay {items} recipients in {self._request.currency}: {self._record.state}, "
            f"{items - counts[ItemState.PENDING]} done ({counts[ItemState.COMPLETED]} paid)"
        )

    def _callback(self, state: SagaState, note: str | None, event_id: str) -> CallbackEvent:
        tally = self._tally
        return CallbackEvent(
            event_id=event_id,
            payout_key=str(self._request.idempotency_key),
            kind="mass",
            state=state,
            amount=self._total,
            currency=self._request.currency,
            fee=tally.amounts["fees"] or None,
            reason=note,
            occurred_at=workflow.now(),
            details={
                "counts": {str(item_state): n for item_state, n in tally.counts.items()},
                "paid": str(tally.amounts["paid"]),
                "released": str(tally.amounts["released"]),
            },
        )


def _check(request: MassPayoutInput) -> None:
    """The workflow's own check of every item: a bad list fails the saga, never a task."""
    problems = [str(p) for p in check_execution_date(request.execution_date)]
    if not len(request.recipients):
        problems.append("recipients: the list is empty")
    recipients = request.recipients
    for index in range(len(recipients)):
        for problem in check_payment(
            currency=request.currency,
            address=recipients.addresses[index],
            amount=recipients.amounts[index],
            prefix=f"item {index}: ",
        ):
            problems.append(str(problem))
        if len(problems) > MAX_PROBLEMS_SHOWN:
            break
    if problems:
        raise ApplicationError(
            "; ".join(problems[:MAX_PROBLEMS_SHOWN]), type="InvalidMassPayout", non_retryable=True
        )
