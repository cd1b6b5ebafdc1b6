"""The provider's rate limit, emulated: at most N signed API calls in any 1-second window.

A sliding window, not a token bucket: a bucket refilled at N/s admits up to 2N calls in some
1-second window (a full bucket, then its refill), and a test that asserts "never more than N in
a second" needs the stricter rule. A call over the limit is answered 429 with `Retry-After`
(docs/sandbox.md). Whatever the limit, the highest number of calls that *arrived* in any
1-second window is recorded, so a test can show the client never went over it.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

WINDOW_SECONDS = 1.0


class RateLimit:
    """Only touched from the server's event loop (like all of `SandboxState`): no locks."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the calls seen (the limit stays)."""
        self._admitted: deque[float] = deque()
        self._arrived: deque[float] = deque()
        self.max_per_second = 0
        self.calls = 0
        self.rejected = 0

    def set_limit(self, limit: int | None) -> None:
        """A new limit (None: none) starts a new measurement."""
        self.limit = limit
        self.reset()

    def admit(self, now: float) -> int | None:
        """Count a call arriving at `now` (monotonic seconds). None: go ahead; otherwise the
        whole seconds to wait before the window has room (the `Retry-After` value)."""
        self.calls += 1
        _drop_older(self._arrived, now)
        self._arrived.append(now)
        self.max_per_second = max(self.max_per_second, len(self._arrived))
        if self.limit is None:
            return None
        _drop_older(self._admitted, now)
        if len(self._admitted) < self.limit:
            self._admitted.append(now)
            return None
        self.rejected += 1
        # Room comes when the oldest admitted call leaves the window; HTTP wants whole seconds.
        return max(1, math.ceil(self._admitted[0] + WINDOW_SECONDS - now))

    def report(self) -> dict[str, Any]:
        return {
            "limitPerSecond": self.limit,
            "maxPerSecond": self.max_per_second,
            "calls": self.calls,
            "rejected": self.rejected,
        }


def _drop_older(times: deque[float], now: float) -> None:
    # The window is (now - 1 s, now]: a call exactly 1 s ago has left it.
    while times and times[0] <= now - WINDOW_SECONDS:
        times.popleft()
