"""The single payout saga: from a request to COMPLETED, FAILED, CANCELED or REJECTED.

reserve → wait for the execution date → check balance and quote fee (waiting for funds) →
create exactly once → follow webhooks, polling when they are late → settle, or release, or
resend as a new derived key. `cancel` and `reschedule` are updates; `status` is a query.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.currencies import check_execution_date, check_payment
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

    from . import search_attributes as sa
    from .keys import attempt_key
    from .payout_models import (
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
    from .provider_tracking import FINAL_PROVIDER_STATES, ProviderTracker
    from .saga_bookkeeping import CALL, SagaBookkeeping

FUNDS_RECHECK_FIRST = timedelta(seconds=30)
FUNDS_RECHECK_MAX = timedelta(minutes=15)
POLL_BACKOFF_CAP = 32  # the poll interval doubles while nothing happens, up to 32 times the setting


class _Ended(Exception):
    """Internal: the saga reached a final state for `reason`; compensation follows."""

    def __init__(self, state: SagaState, reason: str) -> None:
        super().__init__(reason)
        self.state = state
        self.reason = reason


@workflow.defn(name="SinglePayout")
class SinglePayoutWorkflow(SagaBookkeeping):
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
            [
                sa.PAYOUT_KIND.value_set("single"),
                sa.PAYOUT_CURRENCY.value_set(request.currency),
                *(
                    [sa.PAYOUT_EXTERNAL_ID.value_set(request.external_id)]
                    if request.external_id
                    else []
                ),
                *(
                    [sa.PAYOUT_EXECUTION_DATE.value_set(request.execution_date)]
                    if request.execution_date
                    else []
                ),
            ]
        )
        self._set_state(SagaState.RECEIVED, "saga started")
        try:
            await self._reserve()
            await self._wait_for_execution_date()
            attempt = 0
            while True:
                funds = await self._wait_for_funds()
                if request.max_fee is not None and funds.fee > request.max_fee:
                    too_high = f"fee {funds.fee} {request.currency} is above the maximum"
                    raise _Ended(SagaState.REJECTED, f"{too_high} {request.max_fee}")
                final = await self._send_and_follow(attempt)
                if final.state == "COMPLETED":
                    await self._settle(final)
                    return await self._finish(SagaState.COMPLETED, None)
                if final.state == "CANCELED":
                    raise _Ended(
                        SagaState.CANCELED, final.cancel_message or "canceled at the provider"
                    )
                failure = f"provider {final.state}: {'; '.join(final.errors) or 'no reason given'}"
                if attempt >= request.resend.max_resends:
                    raise _Ended(SagaState.FAILED, failure)
                attempt += 1
                await self._wait_to_resend(failure, attempt)
        except _Ended as ended:
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
        self._events.append(event)

    @workflow.query
    def status(self) -> PayoutStatus:
        return self._snapshot()

    @workflow.update
    async def cancel(self, request: CancelInput) -> CancelResult:
        if self._state in FINAL_SAGA_STATES:
            return CancelResult(accepted=False, state=self._state, message=f"already {self._state}")
        await workflow.wait_condition(lambda: not self._creating)
        current = self._attempts[-1] if self._attempts else None
        if current is None or current.provider_id is None or self._tracker.final:
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
            self._apply(outcome.payout, "api")
        if not outcome.accepted:
            return CancelResult(accepted=False, state=self._state, message=outcome.message)
        await workflow.wait_condition(lambda: self._state in FINAL_SAGA_STATES)
        return CancelResult(accepted=True, state=self._state, message=outcome.message)

    @workflow.update
    def reschedule(self, request: RescheduleInput) -> RescheduleResult:
        self._execution_date = request.execution_date
        self._rescheduled = True
        workflow.upsert_search_attributes(
            [sa.PAYOUT_EXECUTION_DATE.value_set(request.execution_date)]
        )
        self._timeline.add("operator", "rescheduled", None, request.execution_date.isoformat())
        return RescheduleResult(execution_date=request.execution_date, message="rescheduled")

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleInput) -> None:
        if request.execution_date.tzinfo is None:
            raise ValueError("execution_date: must include a timezone")
        if self._state not in (SagaState.RECEIVED, SagaState.SCHEDULED):
            raise ValueError(f"too late to reschedule: the payout is {self._state}")

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
            raise _Ended(
                SagaState.REJECTED, f"ledger refused the reservation: {error.cause}"
            ) from error
        self._timeline.add(
            "saga", "reserved", None, f"{self._request.amount} {self._request.currency}"
        )

    async def _wait_for_execution_date(self) -> None:
        while self._execution_date is not None and self._execution_date > workflow.now():
            self._set_state(
                SagaState.SCHEDULED, f"waiting until {self._execution_date.isoformat()}"
            )
            self._rescheduled = False
            await self._sleep((self._execution_date - workflow.now()), lambda: self._rescheduled)
            self._raise_if_canceled()
        self._raise_if_canceled()

    async def _wait_for_funds(self) -> FundsCheck:
        self._set_state(SagaState.CHECKING_FUNDS, None)
        deadline = workflow.now() + timedelta(seconds=self._request.funds_wait_seconds)
        pause = FUNDS_RECHECK_FIRST
        while True:
            funds: FundsCheck = await workflow.execute_activity_method(
                PayoutActivities.check_funds,
                FundsCheckInput(currency=self._request.currency, amount=self._request.amount),
                **CALL,
            )
            self._fee = funds.fee
            if funds.enough:
                return funds
            shortfall = (
                f"balance {funds.balance} < amount + fee {funds.needed} {self._request.currency}"
            )
            if workflow.now() >= deadline:
                raise _Ended(SagaState.FAILED, f"insufficient_funds: {shortfall}")
            self._set_state(SagaState.WAITING_FOR_FUNDS, shortfall)
            await self._sleep(min(pause, deadline - workflow.now()), lambda: False)
            self._raise_if_canceled()
            pause = min(pause * 2, FUNDS_RECHECK_MAX)

    async def _send_and_follow(self, attempt: int) -> ProviderPayout:
        self._raise_if_canceled()
        key = attempt_key(self._request.idempotency_key, attempt)
        self._attempts.append(Attempt(number=attempt, provider_key=key))
        self._tracker = ProviderTracker()
        self._confirmed_final = None
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
        self._apply(payout, "api")
        return await self._follow(key)

    async def _follow(self, key: Any) -> ProviderPayout:
        """Apply webhooks as they come; poll when none came for a poll interval (backing off).

        One durable timer per quiet interval, not one per webhook: a webhook does not restart
        the timer, it only moves the next poll to an interval after the latest hint.
        """
        base = timedelta(seconds=self._request.poll_interval_seconds)
        interval = base
        last_hint = workflow.now()
        timer: asyncio.Task[None] | None = None
        while self._confirmed_final is None:
            if self._events:
                self._drain_events()
                last_hint, interval = workflow.now(), base
            if self._needs_confirmation:
                self._needs_confirmation = False
                self._apply(await self._fetch(key), "api")
                continue
            if timer is None:
                self._next_poll_at = last_hint + interval
                wait = max(self._next_poll_at - workflow.now(), timedelta(0))
                timer = asyncio.create_task(asyncio.sleep(wait.total_seconds()))
            poll_due: asyncio.Task[None] = timer
            await workflow.wait_condition(
                lambda: bool(self._events) or poll_due.done() or self._confirmed_final is not None  # noqa: B023 - awaited right here
            )
            if timer.done():
                timer = None
                if workflow.now() - last_hint >= interval:
                    self._apply(await self._fetch(key), "poll")
                    last_hint, interval = workflow.now(), min(interval * 2, base * POLL_BACKOFF_CAP)
        if timer is not None:
            timer.cancel()
        self._next_poll_at = None
        return self._confirmed_final

    async def _fetch(self, key: Any) -> ProviderPayout:
        return await workflow.execute_activity_method(
            PayoutActivities.fetch_payout, FetchPayoutInput(provider_key=key), **CALL
        )

    async def _wait_to_resend(self, failure: str, attempt: int) -> None:
        delay = timedelta(seconds=self._request.resend.delay_seconds)
        self._set_state(SagaState.WAITING_TO_RESEND, f"{failure}; resend {attempt} in {delay}")
        await self._sleep(delay, lambda: False)
        self._raise_if_canceled()

    async def _settle(self, final: ProviderPayout) -> None:
        await workflow.execute_activity_method(
            PayoutActivities.settle_funds,
            SettleRequest(
                key=str(self._request.idempotency_key),
                paid_amount=self._request.amount,
                fee=final.fee or 0,
            ),
            **CALL,
        )

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
        await asyncio.gather(*self._notifications)
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
            self._apply(payout, "api")
            await self._settle(payout)
            await self._finish(SagaState.COMPLETED, reason)
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

    async def _sleep(self, duration: timedelta, wake: Any) -> None:
        """A durable timer that a cancel request (or `wake`) cuts short."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._cancel_reason is not None or wake(), timeout=duration
            )

    def _raise_if_canceled(self) -> None:
        if self._cancel_reason is not None:
            raise _Ended(SagaState.CANCELED, self._cancel_reason)
