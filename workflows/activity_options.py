"""How every saga activity is called: a short timeout, and Temporal's retry policy as the only
retry loop (unlimited attempts; permanent errors arrive non-retryable and stop it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

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
