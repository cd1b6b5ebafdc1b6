"""The single payout saga: from a request to COMPLETED, FAILED, CANCELED or REJECTED.

reserve → wait for the execution date → check balance and quote fee (waiting for funds) →
create exactly once → follow webhooks, polling when they are late → settle, or release, or
resend as a new derived key. `cancel` and `reschedule` are updates; `status` is a query.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.ledger import ReleaseRequest, ReserveRequest, SettleRequest
    from activities.payout_activities import PayoutActivities
    from activities.payout_models import (
        CancelProviderInput,
        CreatePayoutInput,
        FetchPayoutInput,
        FundsCheck,
        FundsCheckInput,
        ProviderPayout,
    )
    from calypso.currencies import check_execution_date, check_payment
    from workflows import search_attributes as sa
    from workflows.activity_options import CALL
    from workflows.keys import attempt_key
    from workflows.payout_models import (
        FINAL_SAGA_STATES,
        Attempt,
        CancelInput,
        CancelResult,
        PayoutInput,
        PayoutResult,
        PayoutStatus,
        ProviderEvent,
        RescheduleInput,
        RescheduleResult,
        SagaState,
    )
    from workflows.provider_tracking import FINAL_PROVIDER_STATES
    from workflows.saga_bookkeeping import SagaBookkeeping
    from workflows.saga_scheduling import SagaEnded, ScheduledSaga


@workflow.defn(name="SinglePayout")
class SinglePayoutWorkflow(SagaBookkeeping, ScheduledSaga):
    @workflow.init
    def __init__(self, request: PayoutInput) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: PayoutInput) -> PayoutResult:
        problems = check_payment(
            currency=request.currency, address=request.deposit_address, amount=request.amount
        ) + check_execution_date(request.execution_date)
        if problems:
            raise ApplicationError(
                "; ".join(map(str, problems)), type="InvalidPayout", non_retryable=True
            )
        workflow.upsert_search_attributes(
            sa.initial("single", request.currency, request.external_id, request.execution_date)
        )
        self._set_state(SagaState.RECEIVED, "saga started")
        try:
            await self._reserve()
            await self._wait_for_execution_date()
            attempt = 0
            while True:
                funds = await self._wait_for_funds(
                    self._check_funds, request.funds_wait_seconds, request.currency
                )
                if request.max_fee is not None and funds.fee > request.max_fee:
                    too_high = f"fee {funds.fee} {request.currency} is above the maximum"
                    raise SagaEnded(SagaState.REJECTED, f"{too_high} {request.max_fee}")
                final = await self._send_and_follow(attempt)
                if final.state == "COMPLETED":
                    return await self._finish(SagaState.COMPLETED, await self._settle(final))
                if final.state == "CANCELED":
                    raise SagaEnded(
                        SagaState.CANCELED, final.cancel_message or "canceled at the provider"
                    )
                failure = f"provider {final.state}: {'; '.join(final.errors) or 'no reason given'}"
                if attempt >= request.resend.max_resends:
                    raise SagaEnded(SagaState.FAILED, failure)
                attempt += 1
                await self._wait_to_resend(failure, attempt)
        except SagaEnded as ended:
            await self._release(ended.reason)
            return await self._finish(ended.state, ended.reason)
        except ActivityError as error:
            reason = f"{error.activity_type} failed: {error.cause or error}"
            await self._release(reason)
            return await self._finish(SagaState.FAILED, reason)
        except asyncio.CancelledError:
            await self._after_workflow_cancel()
            raise

    # --- signal, query, updates -------------------------------------------------------------------

    @workflow.signal
    def provider_event(self, event: ProviderEvent) -> None:
        """A webhook from the receiver; only a hint, applied in order by the follow loop."""
        self._hint(event)

    @workflow.query
    def status(self) -> PayoutStatus:
        return self._snapshot()

    @workflow.update
    async def cancel(self, request: CancelInput) -> CancelResult:
        if self._state in FINAL_SAGA_STATES:
            return CancelResult(accepted=False, state=self._state, message=f"already {self._state}")
        await workflow.wait_condition(lambda: not self._creating)
        current = self._attempts[-1] if self._attempts else None
        follower = self._follower
        if current is None or current.provider_id is None or not follower or follower.tracker.final:
            # Nothing live at the provider: stop here; the run loop releases the reservation.
            self._cancel_reason = request.reason
            await workflow.wait_condition(lambda: self._state in FINAL_SAGA_STATES)
            return CancelResult(
                accepted=self._state == SagaState.CANCELED,
                state=self._state,
                message="canceled before reaching the provider; reservation released"
                if self._state == SagaState.CANCELED
                else f"ended {self._state} first",
            )
        outcome = await workflow.execute_activity_method(
            PayoutActivities.cancel_provider_payout,
            CancelProviderInput(
                provider_id=current.provider_id,
                provider_key=current.provider_key,
                reason=request.reason,
            ),
            **CALL,
        )
        self._timeline.add("api", "cancel", None, outcome.message)
        if outcome.payout is not None:
            follower.apply(outcome.payout, "api")
        if not outcome.accepted:
            return CancelResult(accepted=False, state=self._state, message=outcome.message)
        await workflow.wait_condition(lambda: self._state in FINAL_SAGA_STATES)
        return CancelResult(accepted=True, state=self._state, message=outcome.message)

    @workflow.update
    def reschedule(self, request: RescheduleInput) -> RescheduleResult:
        return self._reschedule(request)

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleInput) -> None:
        self._check_reschedule(request.execution_date)

    # --- steps ------------------------------------------------------------------------------------

    async def _reserve(self) -> None:
        try:
            await workflow.execute_activity_method(
                PayoutActivities.reserve_funds,
                ReserveRequest(
                    key=str(self._request.idempotency_key),
                    sub_account=self._request.ledger_account,
                    currency=self._request.currency,
                    amount=self._request.amount,
                ),
                **CALL,
            )
        except ActivityError as error:
            raise SagaEnded(
                SagaState.REJECTED, f"ledger refused the reservation: {error.cause}"
            ) from error
        self._timeline.add(
            "saga", "reserved", None, f"{self._request.amount} {self._request.currency}"
        )

    async def _check_funds(self) -> FundsCheck:
        funds: FundsCheck = await workflow.execute_activity_method(
            PayoutActivities.check_funds,
            FundsCheckInput(currency=self._request.currency, amount=self._request.amount),
            **CALL,
        )
        self._fee = funds.fee
        return funds

    async def _send_and_follow(self, attempt: int) -> ProviderPayout:
        self._raise_if_canceled()
        key = attempt_key(self._request.idempotency_key, attempt)
        self._attempts.append(Attempt(number=attempt, provider_key=key))
        self._follower = None
        self._set_state(SagaState.CREATING, f"attempt {attempt}, provider key {key}")
        self._creating = True
        try:
            payout = await workflow.execute_activity_method(
                PayoutActivities.create_payout,
                CreatePayoutInput(
                    provider_key=key,
                    deposit_address=self._request.deposit_address,
                    amount=self._request.amount,
                    currency=self._request.currency,
                    comment=self._request.comment,
                    external_id=self._request.external_id,
                ),
                **CALL,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        finally:
            self._creating = False
        self._attempts[-1].provider_id = payout.id
        workflow.upsert_search_attributes([sa.CALYPSO_PAYOUT_ID.value_set(payout.id)])
        self._set_state(SagaState.SUBMITTED, f"provider payout {payout.id}")
        follower = self._follow_attempt(key, self._fetch)
        follower.apply(payout, "api")
        final = await follower.follow()
        assert final is not None  # follow() without an interrupt returns only when final
        return final

    async def _fetch(self, key: UUID) -> ProviderPayout:
        return await workflow.execute_activity_method(
            PayoutActivities.fetch_payout, FetchPayoutInput(provider_key=key), **CALL
        )

    async def _wait_to_resend(self, failure: str, attempt: int) -> None:
        delay = timedelta(seconds=self._request.resend.delay_seconds)
        self._set_state(SagaState.WAITING_TO_RESEND, f"{failure}; resend {attempt} in {delay}")
        await self._sleep(delay, lambda: False)
        self._raise_if_canceled()

    async def _settle(self, final: ProviderPayout) -> str | None:
        """Settle a paid payout; a ledger that refuses is noted for reconciliation (the money
        has left, so the payout stays COMPLETED and nothing is released)."""
        try:
            await workflow.execute_activity_method(
                PayoutActivities.settle_funds,
                SettleRequest(
                    key=str(self._request.idempotency_key),
                    paid_amount=self._request.amount,
                    fee=final.fee or 0,
                ),
                **CALL,
            )
        except ActivityError as error:
            note = f"paid, but the ledger refused to settle: {error.cause}; reconcile it"
            self._timeline.add("saga", "settle", None, note)
            return note
        return None

    async def _release(self, reason: str) -> None:
        await workflow.execute_activity_method(
            PayoutActivities.release_funds,
            ReleaseRequest(key=str(self._request.idempotency_key), reason=reason),
            **CALL,
        )
        self._timeline.add("saga", "released", None, reason)

    async def _finish(self, state: SagaState, reason: str | None) -> PayoutResult:
        self._reason = reason
        self._set_state(state, reason)
        await self._notices.flush()
        current = self._attempts[-1] if self._attempts else None
        return PayoutResult(
            key=self._request.idempotency_key,
            state=state,
            reason=reason,
            provider_id=current.provider_id if current else None,
            fee=self._fee,
            tx_hash=self._tx_hash,
            attempts=len(self._attempts),
        )

    async def _after_workflow_cancel(self) -> None:
        """Canceled through Temporal (UI or API) instead of the cancel update: same money rules.

        Nothing at the provider → release. Something there → ask the provider to cancel and
        release only if it agrees; a payout already on its way keeps its reservation, and the
        timeline says so, for an operator to reconcile.
        """
        if self._state in FINAL_SAGA_STATES:
            return
        reason = "workflow canceled in Temporal"
        current = self._attempts[-1] if self._attempts else None
        payout = None
        if current is not None:
            try:
                payout = await self._fetch(current.provider_key)
            except ActivityError:
                payout = None  # the create never reached the provider
        if payout is not None and payout.state == "COMPLETED":
            if self._follower is not None:
                self._follower.apply(payout, "api")
            await self._finish(SagaState.COMPLETED, await self._settle(payout) or reason)
            return
        if current is not None and payout is not None and payout.state not in FINAL_PROVIDER_STATES:
            outcome = await workflow.execute_activity_method(
                PayoutActivities.cancel_provider_payout,
                CancelProviderInput(
                    provider_id=payout.id, provider_key=current.provider_key, reason=reason
                ),
                **CALL,
            )
            if not outcome.accepted:
                self._timeline.add("saga", "canceled", None, f"{outcome.message}; reservation kept")
                return
        await self._release(reason)
        await self._finish(SagaState.CANCELED, reason)
