"""The single payout saga: from a request to COMPLETED, FAILED, CANCELED or REJECTED.

reserve → wait for the execution date → check balance and quote fee (waiting for funds) →
create exactly once → follow webhooks, polling when they are late → settle, or release, or
resend as a new derived key. `cancel` and `reschedule` are updates; `status` is a query.

The workflow owns three objects with one job each: its record (state, timeline, what the UI and
the merchant see), its schedule (execution date, cancel before the provider has it) and its
provider attempts (create exactly once, follow, cancel at the provider, resends).
Workflow id `payout-<idempotencyKey>`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.admission_models import AdmitItem
    from activities.payout_activities import PayoutActivities
    from activities.payout_models import (
        CreatePayoutInput,
        FundsCheck,
        FundsCheckInput,
        ProviderPayout,
    )
    from activities.provider_endpoints import SINGLE_PAYOUT
    from calypso.currencies import check_execution_date, check_payment
    from calypso.models import PayoutState
    from workflows import saga_paths
    from workflows.activity_options import LOCAL_STEPS_PATCH, step
    from workflows.approval_models import ApprovalResult, ApproveInput, DenyInput
    from workflows.execution_schedule import ExecutionSchedule
    from workflows.keys import PROVIDER_EVENT_SIGNAL
    from workflows.ledger_steps import PayoutLedger
    from workflows.other_payments import describe_other, other_payments
    from workflows.outcomes import ended
    from workflows.payout_controls import CONTROLS_PATCH, PayoutControls
    from workflows.payout_models import (
        FINAL_SAGA_STATES,
        CancelInput,
        CancelResult,
        PayoutInput,
        PayoutResult,
        PayoutStatus,
        ProviderEvent,
        RescheduleInput,
        RescheduleResult,
        ResolveInput,
        ResolveResult,
        SagaState,
    )
    from workflows.provider_attempts import ProviderAttempts
    from workflows.saga_record import SagaEnded, SagaRecord
    from workflows.single_payout_view import PayoutView
    from workflows.temporal_cancel import canceled_in_temporal


@workflow.defn(name="SinglePayout")
class SinglePayoutWorkflow:
    @workflow.init
    def __init__(self, request: PayoutInput) -> None:
        self._request = request
        self._record = SagaRecord(
            describe=lambda: self._view.details(),
            callback_for=(lambda *event: self._view.callback(*event))
            if request.notify_merchant
            else None,
        )
        self._schedule = ExecutionSchedule(self._record, request.execution_date)
        self._ledger = PayoutLedger(request.idempotency_key, self._record.timeline)
        self._attempts = ProviderAttempts(
            SINGLE_PAYOUT,
            request.idempotency_key,
            self._record,
            timedelta(seconds=request.poll_interval_seconds),
            timedelta(seconds=request.confirmation_wait_seconds),
        )
        self._controls = PayoutControls(
            "single",
            str(request.idempotency_key),
            self._record,
            self._schedule,
            request.requested_by,
        )
        self._decision: ResolveInput | None = None  # an operator's, on a payout held for review
        self._local_steps = False  # admission, funds check and reads (`saga_paths.py`)
        self._view = PayoutView(
            request, self._record, self._schedule, self._attempts, self._controls
        )

    @workflow.run
    async def run(self, request: PayoutInput) -> PayoutResult:
        self._local_steps = saga_paths.begin()
        _check(request)
        record = self._record
        record.started("single", request.currency, request.external_id, request.execution_date)
        record.set_state(SagaState.RECEIVED, "saga started")
        try:
            await self._admit()
            await self._schedule.wait_until_due()
            fee, how = await self._pay_until_final()
            note = await self._ledger.settle(request.amount, fee)
            return await self._finish(SagaState.COMPLETED, note or how)
        except SagaEnded as ended:
            await self._ledger.release(ended.reason)
            return await self._finish(ended.state, ended.reason)
        except ActivityError as error:
            reason = f"{error.activity_type} failed: {error.cause or error}"
            await self._ledger.release(reason)
            return await self._finish(SagaState.FAILED, reason)
        except asyncio.CancelledError:
            if self._record.state not in FINAL_SAGA_STATES:
                await canceled_in_temporal(self._attempts, self._ledger, self._record, request)
            raise

    async def _pay_until_final(self) -> tuple[Decimal | None, str | None]:
        """Check funds, send, follow; resend a failure as policy allows. Returns the fee of the
        paid payout (and how we know it was paid when an operator said so); any other end is
        raised as SagaEnded."""
        request = self._request
        while True:
            funds = await self._schedule.wait_for_funds(
                self._check_funds, request.funds_wait_seconds, request.currency
            )
            if request.max_fee is not None and funds.fee > request.max_fee:
                too_high = f"fee {funds.fee} {request.currency} is above the maximum"
                raise SagaEnded(SagaState.REJECTED, f"{too_high} {request.max_fee}")
            final = await self._send_and_follow()
            if final is None:
                return self._decided()
            if final.state == PayoutState.COMPLETED:
                return final.fee, None
            if final.state == PayoutState.CANCELED:
                reason = final.cancel_message or "canceled at the provider"
                raise SagaEnded(SagaState.CANCELED, reason)
            errors = "; ".join(final.errors) or "no reason given"
            failure = f"provider {final.state}: {errors}; nothing was paid"
            if len(self._attempts.attempts) > request.resend.max_resends:
                advice = "the reservation is released; pay again under a new key once fixed"
                raise SagaEnded(SagaState.FAILED, f"{failure}; {advice}")
            await self._wait_to_resend(failure)
            await self._check_nobody_else_pays(failure)

    # --- signal, query, updates -------------------------------------------------------------------

    @workflow.signal(name=PROVIDER_EVENT_SIGNAL)
    def provider_event(self, event: ProviderEvent) -> None:
        """A webhook from the receiver: only a hint, which the provider attempts weigh."""
        self._attempts.hint(event)

    @workflow.query
    def status(self) -> PayoutStatus:
        return self._view.status()

    @workflow.update
    async def cancel(self, request: CancelInput) -> CancelResult:
        if self._record.state in FINAL_SAGA_STATES:
            state = self._record.state
            return CancelResult(accepted=False, state=state, message=f"already {state}")
        await workflow.wait_condition(lambda: not self._attempts.creating)
        if not self._attempts.live:
            # Nothing live at the provider: stop here; the run loop releases the reservation.
            self._schedule.request_cancel(request.reason)
            await workflow.wait_condition(lambda: self._record.state in FINAL_SAGA_STATES)
            canceled = self._record.state == SagaState.CANCELED
            return CancelResult(
                accepted=canceled,
                state=self._record.state,
                message="canceled before reaching the provider; reservation released"
                if canceled
                else f"ended {self._record.state} first",
            )
        outcome = await self._attempts.cancel_at_provider(request.reason)
        if not outcome.accepted:
            return CancelResult(accepted=False, state=self._record.state, message=outcome.message)
        await workflow.wait_condition(lambda: self._record.state in FINAL_SAGA_STATES)
        return CancelResult(accepted=True, state=self._record.state, message=outcome.message)

    @workflow.update
    async def resolve(self, decision: ResolveInput) -> ResolveResult:
        """An operator's decision on a payout held for review: paid (settle) or failed (release)."""
        self._decision = decision
        note = f"{decision.outcome} by {decision.by}: {decision.reason}"
        self._record.timeline.add("operator", "resolve", None, note)
        await workflow.wait_condition(lambda: self._record.state in FINAL_SAGA_STATES)
        return ResolveResult(accepted=True, state=self._record.state, message=note)

    @resolve.validator
    def _validate_resolve(self, decision: ResolveInput) -> None:
        if decision.item is not None:
            raise ValueError("item: a single payout has no items")
        if self._record.state != SagaState.NEEDS_REVIEW or self._decision is not None:
            raise ValueError(
                f"only a payout held for review can be resolved; this one is {self._record.state}"
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

    async def _admit(self) -> None:
        """Reserve; since the operator's controls, under the policy (screening, approval)."""
        request = self._request
        if not saga_paths.taken(CONTROLS_PATCH):
            await self._ledger.reserve(request.ledger_account, request.currency, request.amount)
            return
        # Sagas from here on settle and release as local activities (docs/architecture.md).
        self._ledger.local = saga_paths.taken(LOCAL_STEPS_PATCH)
        self._controls.local_admission = self._local_steps
        item = AdmitItem(
            index=0,
            ledger_key=str(request.idempotency_key),
            address=request.deposit_address,
            amount=request.amount,
        )
        await self._controls.run(
            sub_account=request.ledger_account,
            currency=request.currency,
            total=request.amount,
            count=1,
            execution_date=request.execution_date,
            batches=iter([[item]]),
            on_reserved=lambda _: None,
            on_refused=_released_by_the_run_loop,
            refusal=self._ledger.refusal,
        )

    async def _check_funds(self) -> FundsCheck:
        funds: FundsCheck = await step(
            PayoutActivities.check_funds,
            FundsCheckInput(currency=self._request.currency, amount=self._request.amount),
            local=self._local_steps,
        )
        self._view.quoted_fee = funds.fee
        return funds

    async def _send_and_follow(self) -> ProviderPayout | None:
        self._schedule.raise_if_canceled()
        request = self._request
        await self._attempts.create(
            CreatePayoutInput(
                provider_key=self._attempts.next_key,
                deposit_address=request.deposit_address,
                amount=request.amount,
                currency=request.currency,
                comment=request.comment,
                external_id=request.external_id,
            )
        )
        # None only when an operator has decided a payout held for review.
        return await self._attempts.follow(lambda: self._decision is not None)

    def _decided(self) -> tuple[Decimal | None, str]:
        decision = self._decision
        assert decision is not None
        how = f"marked {decision.outcome} by {decision.by}: {decision.reason}"
        if decision.outcome == "failed":
            raise SagaEnded(SagaState.FAILED, f"{how}; the reservation is released")
        current = self._attempts.current
        return (current.fee if current else None), how

    async def _check_nobody_else_pays(self, failure: str) -> None:
        """Resend only what is certainly unpaid (`workflows/other_payments.py`)."""
        address = self._request.deposit_address
        others = await other_payments(self._request.currency, [address], self._attempts.attempts)
        if (other := others.for_address(address)) is not None:
            raise SagaEnded(SagaState.FAILED, f"{failure}; not resent: {describe_other(other)}")

    async def _wait_to_resend(self, failure: str) -> None:
        delay = timedelta(seconds=self._request.resend.delay_seconds)
        resend = len(self._attempts.attempts)
        self._record.set_state(
            SagaState.WAITING_TO_RESEND, f"{failure}; resend {resend} in {delay}"
        )
        await self._schedule.sleep(delay)
        self._schedule.raise_if_canceled()

    async def _finish(self, state: SagaState, reason: str | None) -> PayoutResult:
        """The saga's last step: a paid payout completes the workflow, any other end fails it."""
        await self._record.finish(state, reason)
        return ended(state, reason, self._view.result())


async def _released_by_the_run_loop(_refused: dict[int, str], _reserved: bool) -> None:
    """A single payout's refusal ends the saga; its run loop releases the reservation."""


def _check(request: PayoutInput) -> None:
    """The workflow's own check of its input: a bad request fails the saga, never a task."""
    problems = check_payment(
        currency=request.currency, address=request.deposit_address, amount=request.amount
    ) + check_execution_date(request.execution_date)
    if problems:
        raise ApplicationError(
            "; ".join(map(str, problems)), type="InvalidPayout", non_retryable=True
        )
