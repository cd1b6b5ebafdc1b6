"""When a saga may pay: the execution date, which `reschedule` moves, and a cancel request that
cuts any wait short while the provider has not heard of the payout yet.

In the spirit of the `UpdatableTimer` of Temporal's samples: one durable timer per wait, woken by
the update that changes what it waits for.

On the current path (`saga_paths.py`) a decision that changes the saga's commands reads the clock
only where every replay sees the same time: the saga's first task (whether the execution date is
still ahead) and a wake-up (a timer fired, an update came). Right after a local activity the
workflow's time is the activity's completion time, which a replay need not reproduce, so the
funds deadline is a budget of the pauses slept, not a comparison with the clock.
Deterministic: runs in workflows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payout_models import FundsCheck
    from workflows import saga_paths
    from workflows.payout_models import RescheduleInput, RescheduleResult, SagaState
    from workflows.saga_record import SagaEnded, SagaRecord

FUNDS_RECHECK_FIRST = timedelta(seconds=30)
FUNDS_RECHECK_MAX = timedelta(minutes=15)
# The shortest timer the current path starts for an execution date that passed during admission:
# whether a timer is started is decided at the first task, its length may be anything.
SHORTEST_WAIT = timedelta(milliseconds=1)
RESCHEDULABLE = (SagaState.RECEIVED, SagaState.WAITING_FOR_APPROVAL, SagaState.SCHEDULED)


class ExecutionSchedule:
    def __init__(self, record: SagaRecord, execution_date: datetime | None) -> None:
        self.execution_date = execution_date
        self.cancel_reason: str | None = None
        self._record = record
        self._rescheduled = False
        self._first_task_at = workflow.now()  # constructed in the saga's first task

    async def wait_until_due(self) -> None:
        """Sleep until the execution date, however often it moves; SagaEnded if canceled."""
        on_wake_ups = saga_paths.current()
        now = self._first_task_at if on_wake_ups else workflow.now()
        while self.execution_date is not None and self.execution_date > now:
            self._record.set_state(
                SagaState.SCHEDULED, f"waiting until {self.execution_date.isoformat()}"
            )
            self._rescheduled = False
            wait = self.execution_date - workflow.now()
            await self.sleep(max(wait, SHORTEST_WAIT) if on_wake_ups else wait, self._woken)
            self.raise_if_canceled()
            now = workflow.now()  # a wake-up
        self.raise_if_canceled()

    def _woken(self) -> bool:
        return self._rescheduled

    async def wait_for_funds(
        self, check: Callable[[], Awaitable[FundsCheck]], wait_seconds: float, currency: str
    ) -> FundsCheck:
        """Re-check with backoff while the balance is short, until `wait_seconds` have passed."""
        self._record.set_state(SagaState.CHECKING_FUNDS, None)
        budget = _FundsWait(timedelta(seconds=wait_seconds), by_the_clock=not saga_paths.current())
        pause = FUNDS_RECHECK_FIRST
        while True:
            funds = await check()
            if funds.enough:
                return funds
            shortfall = f"balance {funds.balance} < amount + fee {funds.needed} {currency}"
            if budget.spent():
                raise SagaEnded(SagaState.FAILED, f"insufficient_funds: {shortfall}")
            self._record.set_state(SagaState.WAITING_FOR_FUNDS, shortfall)
            await self.sleep(budget.take(pause))
            self.raise_if_canceled()
            pause = min(pause * 2, FUNDS_RECHECK_MAX)

    def reschedule(self, request: RescheduleInput) -> RescheduleResult:
        """The body of every saga's `reschedule` update: wakes the execution-date timer."""
        self.execution_date = request.execution_date
        self._rescheduled = True
        self._record.rescheduled(request.execution_date)
        return RescheduleResult(execution_date=request.execution_date, message="rescheduled")

    def check_reschedule(self, request: RescheduleInput) -> None:
        """The `reschedule` update's validator: a rejected update never reaches history."""
        if request.execution_date.tzinfo is None:
            raise ValueError("execution_date: must include a timezone")
        if self._record.state not in RESCHEDULABLE:
            raise ValueError(f"too late to reschedule: the payout is {self._record.state}")

    def request_cancel(self, reason: str) -> None:
        self.cancel_reason = self.cancel_reason or reason

    async def sleep(self, duration: timedelta, wake: Callable[[], bool] = lambda: False) -> None:
        """A durable timer that a cancel request (or `wake`) cuts short."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self.cancel_reason is not None or wake(), timeout=duration
            )

    def raise_if_canceled(self) -> None:
        if self.cancel_reason is not None:
            raise SagaEnded(SagaState.CANCELED, self.cancel_reason)


class _FundsWait:
    """How long a saga may still wait for funds. Sagas recorded before the current path compare
    a deadline with the clock; the current path counts the pauses it has slept, so the decision
    does not depend on a time read right after a local activity (a cancel ends the wait anyway)."""

    def __init__(self, allowed: timedelta, *, by_the_clock: bool) -> None:
        self._by_the_clock = by_the_clock
        self._deadline = workflow.now() + allowed
        self._left = allowed

    def spent(self) -> bool:
        if self._by_the_clock:
            return workflow.now() >= self._deadline
        return self._left <= timedelta(0)

    def take(self, pause: timedelta) -> timedelta:
        """The next pause, at most what is left; counted as slept."""
        if self._by_the_clock:
            return min(pause, self._deadline - workflow.now())
        pause = min(pause, self._left)
        self._left -= pause
        return pause
