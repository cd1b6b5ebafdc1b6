"""SIGTERM, SIGINT and SIGHUP end `payouts dev` and `payouts demo` the orderly way.

Python's default for SIGTERM and SIGHUP ends the process on the spot: no `finally`, no exit
stack, and the Temporal dev server, in a session of its own, would live on. Here each of them
cancels the running task instead, so every exit stack around it unwinds — worker, receiver,
sandbox, then the dev server — and the command returns.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def run_until_stopped(body: Coroutine[Any, Any, int]) -> int:
    """Run `body` to its exit code; on a stop signal cancel it, let it unwind, and return
    128 + the signal's number. A second signal while it unwinds is ignored: cleanup finishes."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    received: list[int] = []

    def stop(signum: int) -> None:
        if not received:
            task.cancel()
        received.append(signum)

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    try:
        return await body
    except (asyncio.CancelledError, Exception):
        if not received:
            raise
        # Stopping is what happened; anything raised on the way out says so in its own words
        # (the Temporal client turns a cancelled update call into its own error).
        if task.cancelling():
            task.uncancel()
        return 128 + received[0]
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
