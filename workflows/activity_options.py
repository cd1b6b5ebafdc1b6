"""How every saga activity is called: a short timeout, and Temporal's retry policy as the only
retry loop (unlimited attempts; permanent errors arrive non-retryable and stop it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

CALL: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
    ),
}

# A merchant callback: retried while the merchant is away, but no more often than every 5 minutes
# (about 300 attempts a day, each one recorded). The budget is the worker's
# (PAYOUTS_CALLBACK_RETRY_HOURS): once spent, the activity keeps the event UNDELIVERED and fails
# non-retryable, so the attempts end there (activities/callback_outbox.py).
CALLBACK: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)
    ),
}

# A replay, with an operator waiting: a delivery failure is an outcome, not an error; only the
# store or the worker failing is retried, a few times.
CALLBACK_REPLAY: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
}


# A short, idempotent step after which the saga decides nothing by the clock (settle, release,
# a deal's withdrawals read and ledger batch): sagas that reached this patch run these as local
# activities — a marker in the workflow task that ran them, no task round trip, consecutive ones
# in one task. Same timeout and retry policy as CALL. Steps followed by a decision on
# `workflow.now()` (admission before the execution date, the funds check before its deadline,
# the reads that follow a payout before the review deadline) stay activities: under load a
# replay saw a different time after a long local activity than the first run had, and took the
# other branch (a nondeterminism error on the review patch). The create stays an activity too.
LOCAL_STEPS_PATCH = "short-steps-as-local-activities"
LOCAL: dict[str, Any] = dict(CALL)

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


async def step(
    method: Callable[[Any, ArgT], Awaitable[ResultT]], arg: ArgT, *, local: bool
) -> ResultT:
    """Run an activity method as a local activity (`local`) or as an activity. A local
    activity's failure reaches the workflow bare (the activity's own ApplicationError) where an
    activity's arrives as ActivityError: the saga's steps handle ActivityError, so a local
    failure is given that shape, its cause the activity's error."""
    if not local:
        return await workflow.execute_activity_method(method, arg, **CALL)
    try:
        return await workflow.execute_local_activity_method(method, arg, **LOCAL)
    except ApplicationError as failure:
        raise ActivityError(
            f"local activity {method.__name__} failed",
            scheduled_event_id=0,
            started_event_id=0,
            identity="",
            activity_type=method.__name__,
            activity_id="",
            retry_state=RetryState.NON_RETRYABLE_FAILURE,
        ) from failure
