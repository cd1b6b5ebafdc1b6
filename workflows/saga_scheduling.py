"""What single and mass sagas share before any money moves: the execution date, reschedule,
a cancel request, and waiting for funds. Deterministic: runs in workflows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payout_models import FundsCheck
    from workflows import search_attributes as sa
    from workflows.payout_models import RescheduleInput, RescheduleResult, SagaState
    from workflows.saga_timeline import Timeline

FUNDS_RECHECK_FIRST = timedelta(seconds=30)
FUNDS_RECHECK_MAX = timedelta(minutes=15)
RESCHEDULABLE = (SagaState.RECEIVED, SagaState.SCHEDULED)


class SagaEnded(Exception):
    """Internal: the saga reached a final state for `reason`; compensation follows."""

    def __init__(self, state: SagaState, reason: str) -> None:
        super().__init__(reason)
        self.state = state
        self.reason = reason


class ScheduledSaga:
    """Mixed into a saga workflow, which provides `_state` and `_set_state`."""

    _state: SagaState
    _timeline: Timeline
    _execution_date: datetime | None
    _rescheduled: bool = False
    _cancel_reason: str | None = None

    def _set_state(self, state: SagaState, note: str | None) -> None:
        raise NotImplementedError

    async def _wait_for_execution_date(self) -> None:
        while self._execution_date is not None and self._execution_date > workflow.now():
            self._set_state(
                SagaState.SCHEDULED, f"waiting until {self._execution_date.isoformat()}"
            )
            self._rescheduled = False
            await self._sleep(self._execution_date - workflow.now(), lambda: self._rescheduled)
            self._raise_if_canceled()
        self._raise_if_canceled()

    async def _wait_for_funds(
        self, check: Callable[[], Awaitable[FundsCheck]], wait_seconds: float, currency: str
    ) -> FundsCheck:
        """Re-check with backoff while the balance is short, until `wait_seconds` have passed."""
        self._set_state(SagaState.CHECKING_FUNDS, None)
        deadline = workflow.now() + timedelta(seconds=wait_seconds)
        pause = FUNDS_RECHECK_FIRST
        while True:
            funds = await check()
            if funds.enough:
                return funds
            shortfall = f"balance {funds.balance} < amount + fee {funds.needed} {currency}"
            if workflow.now() >= deadline:
                raise SagaEnded(SagaState.FAILED, f"insufficient_funds: {shortfall}")
            self._set_state(SagaState.WAITING_FOR_FUNDS, shortfall)
            await self._sleep(min(pause, deadline - workflow.now()), lambda: False)
            self._raise_if_canceled()
            pause = min(pause * 2, FUNDS_RECHECK_MAX)

    def _reschedule(self, request: RescheduleInput) -> RescheduleResult:
        """The body of every saga's `reschedule` update: wakes the execution-date timer."""
        self._execution_date = request.execution_date
        self._rescheduled = True
        workflow.upsert_search_attributes(
            [sa.PAYOUT_EXECUTION_DATE.value_set(request.execution_date)]
        )
        self._timeline.add("operator", "rescheduled", None, request.execution_date.isoformat())
        return RescheduleResult(execution_date=request.execution_date, message="rescheduled")

    def _check_reschedule(self, execution_date: datetime) -> None:
        """Update validator: rejected updates never reach history."""
        if execution_date.tzinfo is None:
            raise ValueError("execution_date: must include a timezone")
        if self._state not in RESCHEDULABLE:
            raise ValueError(f"too late to reschedule: the payout is {self._state}")

    async def _sleep(self, duration: timedelta, wake: Callable[[], bool]) -> None:
        """A durable timer that a cancel request (or `wake`) cuts short."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._cancel_reason is not None or wake(), timeout=duration
            )

    def _raise_if_canceled(self) -> None:
        if self._cancel_reason is not None:
            raise SagaEnded(SagaState.CANCELED, self._cancel_reason)
