"""Pacing provider calls: the `Retry-After` header read into seconds, and a per-process pacer.

The provider's rate limit is enforced across workers by Temporal's task-queue activity limit
(`starter/service/worker.py`), which counts activities; the pacer spaces the calls one worker
makes, so an activity that makes several calls (a mass fee quote, a paged read) never bursts.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """`Retry-After` as seconds from `now` (Unix seconds): a number of seconds or an HTTP date.
    None when absent or unreadable; a date in the past is 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


class CallPacer:
    """Spaces calls at least 1/`calls_per_second` apart (in this process), in arrival order."""

    def __init__(
        self,
        calls_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not calls_per_second > 0:
            raise ValueError("calls_per_second must be greater than 0")
        self._interval = 1.0 / calls_per_second
        self._clock = clock
        self._sleep = sleep
        self._next_at = float("-inf")

    async def wait_turn(self) -> None:
        # The slot is taken before sleeping, so concurrent callers queue without a lock.
        now = self._clock()
        at = max(now, self._next_at)
        self._next_at = at + self._interval
        if at > now:
            await self._sleep(at - now)
