"""The mass payout saga: a list of recipients to a per-recipient outcome.

validate every item → reserve every item in the ledger → wait for the execution date → check the
balance for the total plus every item's fee → split into provider-sized deals, each followed by its
own child workflow (`mass_deal.py`), a bounded number at a time → aggregate. `cancel` stops deals
not yet sent and asks running ones to cancel; `progress` is the query.
Workflow id `mass-payout-<idempotencyKey>`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.callbacks import CallbackEvent
    from activities.ledger import ReserveRequest
    from activities.mass_activities import LedgerBatch, MassActivities, MassFundsInput
    from calypso.currencies import check_execution_date, check_payment
    from workflows import search_attributes as sa
    from workflows.activity_options import CALL
    from workflows.mass_deal import item_ledger_key
    from workflows.mass_deal_runner import LEDGER_BATCH_ITEMS, DealRunner, plan_deals
    from workflows.mass_models import (
        ItemState,
        MassCancelResult,
        MassPayoutInput,
        MassPayoutResult,
        MassProgress,
        MassResume,
    )
    from workflows.merchant_notices import MerchantNotices
    from workflows.payout_models import (
        FINAL_SAGA_STATES,
        CancelInput,
        RescheduleInput,
        RescheduleResult,
    )
    from workflows.payout_models import SagaState as State
    from workflows.saga_scheduling import SagaEnded, ScheduledSaga
    from workflows.saga_timeline import Timeline

MAX_PROBLEMS_SHOWN = 20


@workflow.defn(name="MassPayout")
class MassPayoutWorkflow(ScheduledSaga, DealRunner):
    @workflow.init
    def __init__(self, request: MassPayoutInput) -> None:
        self._request = request
        self._state = State.RECEIVED
        self._reason: str | None = None
        self._execution_date = request.execution_date
        self._timeline = Timeline()
        self._deals = plan_deals(request)
        self._counts: Counter[ItemState] = Counter({ItemState.PENDING: len(request.recipients)})
        self._amounts: defaultdict[str, Decimal] = defaultdict(Decimal)
        self._sent = 0
        self._not_cancelable: list[int] = []
        if request.resume is not None:  # a continued run: carry on where the last one stopped
            resume = request.resume
            self._state = State.PAYING
            self._timeline = Timeline(entries=resume.timeline)
            self._deals = resume.deals
            self._counts = Counter(resume.counts)
            self._amounts.update(resume.amounts)
            self._sent = resume.sent
            self._not_cancelable = resume.not_cancelable
        self._notices = MerchantNotices(request.notify_merchant, self._timeline)

    @workflow.run
    async def run(self, request: MassPayoutInput) -> MassPayoutResult:
        if request.resume is not None:
            return await self._pay_and_finish()
        _validate(request)
        workflow.upsert_search_attributes(
            sa.initial("mass", request.currency, request.external_id, request.execution_date)
        )
        plan = f"{len(request.recipients)} recipients in {len(self._deals)} deals"
        self._set_state(State.RECEIVED, plan)
        try:
            await self._reserve_all()
            await self._wait_for_execution_date()
            await self._wait_for_funds(
                self._check_funds, request.funds_wait_seconds, request.currency
            )
            self._raise_if_canceled()
        except SagaEnded as ended:
            await self._release_unsent(ended.reason)
            return await self._finish(ended.state, ended.reason)
        return await self._pay_and_finish()

    async def _pay_and_finish(self) -> MassPayoutResult:
        if not await self._run_deals():
            # This run has done its share of deals: the next one carries on with the tallies.
            workflow.continue_as_new(self._request.model_copy(update={"resume": self._resume()}))
        if self._cancel_reason is not None:
            return await self._finish(State.CANCELED, self._cancel_reason)
        completed = self._counts[ItemState.COMPLETED]
        everyone = len(self._request.recipients)
        state = State.COMPLETED if completed == everyone else State.PARTIAL
        return await self._finish(state if completed else State.FAILED, None)

    def _resume(self) -> MassResume:
        return MassResume(
            deals=self._deals,
            counts=dict(self._counts),
            amounts=dict(self._amounts),
            sent=self._sent,
            not_cancelable=self._not_cancelable,
            timeline=self._timeline.entries[-50:],
        )

    # --- query and updates ------------------------------------------------------------------------

    @workflow.query
    def progress(self) -> MassProgress:
        return MassProgress(
            key=self._request.idempotency_key,
            state=self._state,
            currency=self._request.currency,
            items=len(self._request.recipients),
            total=sum(self._request.recipients.amounts, Decimal(0)),
            counts=dict(self._counts),
            paid=self._amounts["paid"],
            failed=self._amounts["failed"],
            released=self._amounts["released"],
            fees=self._amounts["fees"],
            provider_deals_sent=self._sent,
            deals=self._deals,
            reason=self._reason,
            execution_date=self._execution_date,
            timeline=self._timeline.entries,
        )

    @workflow.update
    async def cancel(self, request: CancelInput) -> MassCancelResult:
        if self._state in FINAL_SAGA_STATES:
            return MassCancelResult(
                accepted=False, state=self._state, message=f"already {self._state}"
            )
        self._cancel_reason = request.reason
        self._timeline.add("operator", "cancel", None, request.reason)
        await workflow.wait_condition(lambda: self._state in FINAL_SAGA_STATES)
        refused = len(self._not_cancelable)
        return MassCancelResult(
            accepted=True,
            state=self._state,
            message=f"canceled; {refused} items were already on their way"
            if refused
            else "canceled",
            not_cancelable=self._not_cancelable,
        )

    @workflow.update
    def reschedule(self, request: RescheduleInput) -> RescheduleResult:
        return self._reschedule(request)

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleInput) -> None:
        self._check_reschedule(request.execution_date)

    # --- steps ------------------------------------------------------------------------------------

    async def _reserve_all(self) -> None:
        recipients, key = self._request.recipients, self._request.idempotency_key
        for start in range(0, len(recipients), LEDGER_BATCH_ITEMS):
            batch = LedgerBatch(
                reserve=[
                    ReserveRequest(
                        key=item_ledger_key(key, item.index),
                        sub_account=self._request.ledger_account,
                        currency=self._request.currency,
                        amount=item.amount,
                    )
                    for item in recipients.items(start, start + LEDGER_BATCH_ITEMS)
                ]
            )
            try:
                await workflow.execute_activity_method(
                    MassActivities.apply_ledger_batch, batch, **CALL
                )
            except ActivityError as error:
                raise SagaEnded(
                    State.REJECTED, f"ledger refused the reservation: {error.cause}"
                ) from error
        self._timeline.add("saga", "reserved", None, f"{len(recipients)} items")

    async def _check_funds(self) -> Any:
        return await workflow.execute_activity_method(
            MassActivities.check_mass_funds,
            MassFundsInput(
                currency=self._request.currency, amounts=self._request.recipients.amounts
            ),
            **CALL,
        )

    async def _finish(self, state: State, reason: str | None) -> MassPayoutResult:
        self._reason = reason
        self._set_state(state, reason)
        await self._notices.flush()
        return MassPayoutResult(
            key=self._request.idempotency_key,
            state=state,
            reason=reason,
            counts=dict(self._counts),
            paid=self._amounts["paid"],
            released=self._amounts["released"],
            fees=self._amounts["fees"],
            deals=self._deals,
            not_cancelable=self._not_cancelable,
        )

    def _set_state(self, state: State, note: str | None) -> None:
        self._state = state
        self._timeline.add("saga", "state", state, note)
        workflow.upsert_search_attributes([sa.PAYOUT_STATE.value_set(state)])
        done = len(self._request.recipients) - self._counts[ItemState.PENDING]
        workflow.set_current_details(
            f"Pay {len(self._request.recipients)} recipients in {self._request.currency}: "
            f"{state}, {done} done ({self._counts[ItemState.COMPLETED]} paid)"
        )
        self._notices.send(self._callback_event(note))

    def _callback_event(self, note: str | None) -> CallbackEvent:
        return CallbackEvent(
            event_id=self._notices.next_event_id(),
            payout_key=str(self._request.idempotency_key),
            kind="mass",
            state=self._state,
            amount=sum(self._request.recipients.amounts, Decimal(0)),
            currency=self._request.currency,
            fee=self._amounts["fees"] or None,
            reason=note,
            occurred_at=workflow.now(),
            details={
                "counts": {str(state): n for state, n in self._counts.items()},
                "paid": str(self._amounts["paid"]),
                "released": str(self._amounts["released"]),
            },
        )


def _validate(request: MassPayoutInput) -> None:
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
