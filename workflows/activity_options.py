"""How every saga activity is called: a short timeout, and Temporal's retry policy as the only
retry loop (unlimited attempts; permanent errors arrive non-retryable and stop it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar, overload

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


# A short, idempotent step run as a local activity: a marker in the workflow task that ran it,
# no task round trip, consecutive ones in one task. Same timeout and retry policy as CALL.
# Sagas recorded under `short-steps-as-local-activities` run only settle, release and a deal's
# withdrawals read and ledger batch this way. Sagas on the current path (`saga_paths.py`) also
# run admission, the funds check and every read that follows a payout locally, because they
# decide on the clock only at wake-ups: a time read right after a local activity is its
# completion time, which a replay need not reproduce (under load it did not, and a review
# deadline went the other way: a nondeterminism error). The create stays an activity: a cancel
# waits for its outcome, and its retries look the payout up first.
LOCAL_STEPS_PATCH = "short-steps-as-local-activities"
LOCAL: dict[str, Any] = dict(CALL)

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


@overload
async def step(
    activity: Callable[[Any, ArgT], Awaitable[ResultT]], arg: ArgT, *, local: bool
) -> ResultT: ...


@overload
async def step(activity: str, arg: Any, *, local: bool, result_type: type[ResultT]) -> ResultT: ...


async def step(
    activity: Callable[[Any, Any], Awaitable[Any]] | str,
    arg: Any,
    *,
    local: bool,
    result_type: type | None = None,
) -> Any:
    """Run an activity method (or an activity by name) as a local activity (`local`) or as an
    activity. A local activity's failure reaches the workflow bare (the activity's own
    ApplicationError) where an activity's arrives as ActivityError: the saga's steps handle
    ActivityError, so a local failure is given that shape, its cause the activity's error."""
    name = activity if isinstance(activity, str) else activity.__name__
    if not local:
        if isinstance(activity, str):
            return await workflow.execute_activity(activity, arg, result_type=result_type, **CALL)
        return await workflow.execute_activity_method(activity, arg, **CALL)
    try:
        if isinstance(activity, str):
            return await workflow.execute_local_activity(
                activity, arg, result_type=result_type, **LOCAL
            )
        return await workflow.execute_local_activity_method(activity, arg, **LOCAL)
    except ApplicationError as failure:
        raise ActivityError(
            f"local activity {name} failed",
            scheduled_event_id=0,
            started_event_id=0,
            identity="",
            activity_type=name,
            activity_id="",
            retry_state=RetryState.NON_RETRYABLE_FAILURE,
        ) from failure
